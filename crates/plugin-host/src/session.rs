//! One request's calls of one plugin: each call is bounded and checked exactly as ABI.md says,
//! and measured (fuel used, recorded per plugin and hook). A module built for ABI 1.1 or later
//! serves all of a request's calls from one instance — instantiated for this request, so no
//! earlier request could have touched it — while a 1.0 module gets a fresh instance per call,
//! as it was promised. An instance that failed a call is never called again.

use crate::answer::{self, UniqueMap};
use crate::error::PluginError;
use crate::input::{EligibleInput, PayloadInput};
use crate::plugin::{CallExports, CallState, LoadedPlugin, LogLine};
use serde::Serialize;
use serde::de::DeserializeOwned;
use touchstone_plugin_sdk::abi::{
    Eligibility, EligibleContext, EventContext, EventDecision, Hook, PayloadContext, Payloads,
};
use wasmtime::Store;

/// Calls of one plugin for one request. Drop it when the request is done.
pub struct Session<'p> {
    plugin: &'p LoadedPlugin,
    live: Option<Live>,
    capture_logs: bool,
    logs: Vec<LogLine>,
    last_fuel: Option<u64>,
    last_input_bytes: usize,
}

struct Live {
    store: Store<CallState>,
    exports: CallExports,
}

impl<'p> Session<'p> {
    pub(crate) fn new(plugin: &'p LoadedPlugin) -> Session<'p> {
        Session {
            plugin,
            live: None,
            capture_logs: false,
            logs: Vec::new(),
            last_fuel: None,
            last_input_bytes: 0,
        }
    }

    /// The plugin version every call of this session runs.
    pub fn plugin(&self) -> &'p LoadedPlugin {
        self.plugin
    }

    /// Keeps the plugin's `touchstone.log` lines for [`take_logs`](Self::take_logs) (they are
    /// logged by the server either way).
    pub fn capture_logs(mut self) -> Self {
        self.capture_logs = true;
        self
    }

    /// The lines the plugin logged since the last take.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.logs)
    }

    /// Fuel the last call used (instantiation, start function, `touchstone_alloc` and the
    /// hook); `None` when the host does not meter fuel or nothing ran.
    pub fn last_fuel(&self) -> Option<u64> {
        self.last_fuel
    }

    /// Size in bytes of the last call's input JSON.
    pub fn last_input_bytes(&self) -> usize {
        self.last_input_bytes
    }

    /// Decides eligibility for every experiment in `ctx.experiments` in one call. An
    /// experiment the plugin left out is not eligible. On `Err`, treat all as not eligible.
    pub fn eligible<C: Serialize>(
        &mut self,
        ctx: &EligibleContext<C>,
    ) -> Result<Eligibility, PluginError> {
        self.eligible_encoded(serde_json::to_vec(ctx), &ctx.experiments)
    }

    /// [`eligible`](Self::eligible) on an input borrowed from the request, its binding's
    /// config encoded once: the server's path (the same bytes, fewer copies).
    pub fn eligible_input(
        &mut self,
        input: &EligibleInput<'_>,
    ) -> Result<Eligibility, PluginError> {
        self.eligible_encoded(input.encode(), input.experiments)
    }

    fn eligible_encoded(
        &mut self,
        input: Result<Vec<u8>, serde_json::Error>,
        experiments: &[String],
    ) -> Result<Eligibility, PluginError> {
        self.observe(Hook::Eligible, |session| {
            let input = input.map_err(PluginError::MalformedOutput)?;
            let UniqueMap(answer) = session.call_encoded(Hook::Eligible, &input)?;
            answer::only_asked(answer.keys(), experiments.iter().map(String::as_str))?;
            Ok(answer)
        })
    }

    /// Shapes payloads for every assignment in `ctx.assignments` in one call. An experiment
    /// left out keeps its static payload; `null` replaces it. On `Err`, keep every static one.
    pub fn payload<C: Serialize>(
        &mut self,
        ctx: &PayloadContext<C>,
    ) -> Result<Payloads, PluginError> {
        let asked = ctx.assignments.iter().map(|a| a.experiment.as_str());
        self.payload_encoded(serde_json::to_vec(ctx), asked)
    }

    /// [`payload`](Self::payload) on an input borrowed from the request, its binding's config
    /// encoded once: the server's path (the same bytes, fewer copies).
    pub fn payload_input(&mut self, input: &PayloadInput<'_>) -> Result<Payloads, PluginError> {
        let asked = input.assignments.iter().map(|a| a.experiment);
        self.payload_encoded(input.encode(), asked)
    }

    fn payload_encoded<'a>(
        &mut self,
        input: Result<Vec<u8>, serde_json::Error>,
        asked: impl Iterator<Item = &'a str>,
    ) -> Result<Payloads, PluginError> {
        self.observe(Hook::Payload, |session| {
            let input = input.map_err(PluginError::MalformedOutput)?;
            let UniqueMap(answer) = session.call_encoded(Hook::Payload, &input)?;
            answer::only_asked(answer.keys(), asked)?;
            Ok(answer)
        })
    }

    /// One decision per event of `ctx.events`, in order. A rewrite keeps the event's `id` and
    /// `unit_id`. On `Err`, accept every event unchanged (or reject, as configured).
    pub fn event<C: Serialize>(
        &mut self,
        ctx: &EventContext<C>,
    ) -> Result<Vec<EventDecision>, PluginError> {
        self.observe(Hook::Event, |session| {
            let answer: Vec<EventDecision> = session.call_typed(Hook::Event, ctx)?;
            if answer.len() != ctx.events.len() {
                return Err(PluginError::InvalidAnswer(format!(
                    "{} decisions for {} events",
                    answer.len(),
                    ctx.events.len()
                )));
            }
            for (index, (decision, event)) in answer.iter().zip(&ctx.events).enumerate() {
                if let EventDecision::Rewrite { event: rewritten } = decision
                    && (rewritten.id != event.id || rewritten.unit_id != event.unit_id)
                {
                    return Err(PluginError::InvalidAnswer(format!(
                        "the rewrite of event {index} changes its id or unit_id"
                    )));
                }
            }
            Ok(answer)
        })
    }

    /// Logs, counts and measures a call: one place for every hook.
    fn observe<T>(
        &mut self,
        hook: Hook,
        call: impl FnOnce(&mut Self) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        self.last_fuel = None;
        let result = call(self);
        let plugin = self.plugin;
        if let Some(fuel) = self.last_fuel {
            plugin.counters().record_fuel(hook, fuel);
        }
        if let Err(error) = &result {
            // The instance may be half way through anything: never call it again.
            self.live = None;
            let reason = error.reason();
            plugin.counters().record(hook, reason);
            tracing::warn!(
                plugin = plugin.name(),
                version = plugin.version(),
                hook = hook.as_str(),
                reason,
                error = %crate::error::error_chain(error),
                "plugin call failed; the safe default applies"
            );
        }
        result
    }

    fn call_typed<I: Serialize + ?Sized, O: DeserializeOwned>(
        &mut self,
        hook: Hook,
        input: &I,
    ) -> Result<O, PluginError> {
        let input = serde_json::to_vec(input).map_err(PluginError::MalformedOutput)?;
        self.call_encoded(hook, &input)
    }

    fn call_encoded<O: DeserializeOwned>(
        &mut self,
        hook: Hook,
        input: &[u8],
    ) -> Result<O, PluginError> {
        self.last_input_bytes = input.len();
        let output = self.call_raw(hook, input)?;
        answer::decode(&output)
    }

    fn call_raw(&mut self, hook: Hook, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        let plugin = self.plugin;
        let limits = plugin.limits();
        if input.len() > limits.input_bytes {
            return Err(PluginError::InputTooLarge {
                size: input.len(),
                limit: limits.input_bytes,
            });
        }
        let mut live = match self.live.take() {
            Some(mut live) => {
                // The same request's instance: a fresh budget and deadline for this call.
                if plugin.consume_fuel() {
                    let _ = live.store.set_fuel(limits.fuel);
                }
                live.store.set_epoch_deadline(limits.epoch_ticks);
                let state = live.store.data_mut();
                state.log_lines = 0;
                state.limiter.refused = false;
                live
            }
            None => {
                let mut store = plugin.store(self.capture_logs);
                match plugin.instantiate(&mut store) {
                    Ok(exports) => Live { store, exports },
                    Err(error) => {
                        self.finish(&mut store);
                        return Err(error);
                    }
                }
            }
        };
        let result = plugin.round_trip(&mut live.store, &live.exports, hook, input);
        self.finish(&mut live.store);
        if result.is_ok() && plugin.abi_minor_version() >= 1 {
            self.live = Some(live);
        }
        result
    }

    /// Reads what the call used and logged.
    fn finish(&mut self, store: &mut Store<CallState>) {
        if self.plugin.consume_fuel() {
            let left = store.get_fuel().unwrap_or(0);
            self.last_fuel = Some(self.plugin.limits().fuel.saturating_sub(left));
        }
        if let Some(captured) = &mut store.data_mut().captured {
            self.logs.append(captured);
        }
    }
}
