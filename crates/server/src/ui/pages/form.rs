//! The experiment form: create (`/ui/experiments/new`) and change (`/ui/experiments/{key}/edit`)
//! an experiment without writing JSON. The server renders the fields; the page's script fills
//! the repeated rows (variants, stages, metrics, targeting) from `data-spec`, builds the
//! definition and sends it with `PUT /v1/experiments/{key}`, and places each error the API
//! returns beside the field its path names (`variants[1].weight` → that input).

use crate::ui::layout::{Session, escape, page};
use serde_json::{Value, json};
use touchstone_model::{Experiment, ExperimentSpec};

/// Names the form offers in its pickers: stages and events the definitions already use, and
/// the touchpoints they target.
#[derive(Debug, Default)]
pub struct Known {
    pub events: Vec<String>,
    pub touchpoints: Vec<String>,
}

impl Known {
    pub fn gather(experiments: &[Experiment]) -> Known {
        let mut events = Vec::new();
        let mut touchpoints = Vec::new();
        for experiment in experiments {
            let spec = experiment.spec();
            events.extend(spec.journey.iter().cloned());
            events.extend(spec.metrics.iter().map(|metric| metric.event.clone()));
            events.extend(spec.value_event.iter().cloned());
            touchpoints.push(spec.touchpoint.clone());
        }
        events.sort();
        events.dedup();
        touchpoints.sort();
        touchpoints.dedup();
        Known {
            events,
            touchpoints,
        }
    }
}

/// The definition without what the server keeps for itself (status, phases, shipped) and
/// without statistics settings at their defaults: what a person may edit.
pub fn editable(spec: &ExperimentSpec) -> Value {
    let mut value = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(fields) = value.as_object_mut() {
        for owned in ["status", "shipped", "phase", "phase_started_at", "phases"] {
            fields.remove(owned);
        }
        let defaults = [("alpha", 0.05), ("sequential_tuning", 10_000.0)];
        for (name, default) in defaults {
            if fields.get(name).and_then(Value::as_f64) == Some(default) {
                fields.remove(name);
            }
        }
    }
    value
}

fn options(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!(r#"<option value="{}"></option>"#, escape(value)))
        .collect()
}

/// One labelled input with its error slot; `path` is the API's field path.
fn field(path: &str, label: &str, input: &str, help: &str) -> String {
    let help = if help.is_empty() {
        String::new()
    } else {
        format!(
            r#"<small class="help" id="help-{id}">{help}</small>"#,
            id = path.replace(['.', '[', ']'], "-")
        )
    };
    format!(
        r#"<div class="field" data-field="{path}"><label for="f-{id}">{label}</label>{input}{help}<p class="field-error" data-error-for="{path}" role="alert" hidden></p></div>"#,
        id = path.replace(['.', '[', ']'], "-"),
    )
}

fn text_input(path: &str, extra: &str) -> String {
    format!(
        r#"<input id="f-{id}" name="{path}" data-path="{path}" {extra}>"#,
        id = path.replace(['.', '[', ']'], "-")
    )
}

/// The form page; `existing` is the experiment being changed (`None`: a new one).
pub fn form_page(existing: Option<&Experiment>, known: &Known, session: Session) -> String {
    let spec = existing
        .map(|experiment| editable(experiment.spec()))
        .unwrap_or_else(|| {
            json!({"variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
                   "journey": [], "traffic": 1})
        });
    let (title, key_input, heading) = match existing {
        Some(experiment) => (
            format!("Change {}", experiment.key()),
            text_input(
                "key",
                &format!(
                    r#"type="text" value="{}" readonly"#,
                    escape(experiment.key())
                ),
            ),
            format!(
                r#"<p class="crumbs"><a href="/ui">Experiments</a> / <a href="/ui/experiments/{key}">{key}</a> /</p><h1>Change {key}</h1>"#,
                key = escape(experiment.key())
            ),
        ),
        None => (
            "New experiment".to_owned(),
            text_input(
                "key",
                r#"type="text" required pattern="[A-Za-z0-9_.\-]{1,64}" autocomplete="off" placeholder="free-shipping-35""#,
            ),
            r#"<p class="crumbs"><a href="/ui">Experiments</a> /</p><h1>New experiment</h1>"#
                .to_owned(),
        ),
    };
    let running = existing.is_some_and(Experiment::is_running);
    let running_note = if running {
        r#"<p class="hint">This experiment is <strong>running</strong>: variants, weights and salt are fixed (changing them would reshuffle units already exposed) — start a new phase from its page for that. Traffic may only grow.</p>"#
    } else {
        ""
    };
    let spec_json = serde_json::to_string(&spec).unwrap_or_else(|_| "{}".into());
    let body = format!(
        r##"<section class="headline">{heading}</section>
<form id="experiment-form" class="card form" novalidate data-mode="{mode}" data-running="{running}" data-spec="{spec}">
{running_note}
<p id="form-problem" class="problem" role="alert" hidden></p>
<fieldset><legend>What is tested</legend>
{key}
{description}
{touchpoint}
</fieldset>
<fieldset><legend>Journey stages</legend>
<p class="help">The events a unit reaches in order after exposure, e.g. <code>add_to_cart</code> → <code>begin_checkout</code> → <code>purchase</code>. The last stage decides. Pick one seen before or type a new name.</p>
<ol id="stages" class="rows" data-path="journey"></ol>
<p class="field-error" data-error-for="journey" role="alert" hidden></p>
<button type="button" class="secondary" data-add="stage">+ Add a stage</button>
</fieldset>
<fieldset><legend>Variants</legend>
<p class="help">The first is control unless you say otherwise. Weights are relative (1 and 1 split evenly). The payload is the JSON your app receives for that variant.</p>
<ol id="variants" class="rows" data-path="variants"></ol>
<p class="field-error" data-error-for="variants" role="alert" hidden></p>
<button type="button" class="secondary" data-add="variant"{lock}>+ Add a variant</button>
</fieldset>
<fieldset><legend>Who enters</legend>
{traffic}
<p class="help">Targeting: only units whose attributes match every condition enter.</p>
<ol id="targeting" class="rows" data-path="targeting"></ol>
<button type="button" class="secondary" data-add="condition">+ Add a condition</button>
{segments}
</fieldset>
<fieldset><legend>Metrics</legend>
<p class="help">Besides the journey: pick a template, then adjust its event.</p>
<ol id="metrics" class="rows" data-path="metrics"></ol>
<p class="field-error" data-error-for="metrics" role="alert" hidden></p>
<div class="inline"><label for="metric-template">Template</label><select id="metric-template"><option value="conversion">Conversion</option><option value="revenue">Revenue per visitor</option><option value="retention">Retention (came back after a day)</option><option value="clv">Customer lifetime value (90 days)</option><option value="nps">Net promoter score</option><option value="effort">Customer effort score</option><option value="tickets">Support tickets</option><option value="time">Time to conversion</option></select><button type="button" class="secondary" data-add="metric">+ Add metric</button></div>
{value_event}
{currency}
</fieldset>
<fieldset><legend>Guardrails and layer</legend>
<p class="help">Guardrail stages: a variant converting to one of them less than control, with confidence, triggers the guardrail action. Metrics with the role <em>guardrail</em> count too.</p>
<div id="guardrail-stages" class="checks" data-path="guardrail_stages"></div>
<p class="field-error" data-error-for="guardrail_stages" role="alert" hidden></p>
{guardrail_action}
{layer_name}
{layer_range}
</fieldset>
<fieldset><legend>Sample</legend>
{mde}
{power}
{window}
<div class="field"><label for="preview-baseline">Expected rate of the last stage today (%) — only for the preview</label><input id="preview-baseline" type="number" step="any" min="0" max="100" inputmode="decimal" placeholder="10"></div>
<p id="sample-preview" class="preview" aria-live="polite"></p>
</fieldset>
<ul id="other-errors" class="field-errors" role="alert" hidden></ul>
<div class="actions"><button type="submit" class="primary">{submit}</button><a class="button secondary" href="{back}">Cancel</a></div>
</form>
<datalist id="known-events">{events}</datalist>
<datalist id="known-touchpoints">{touchpoints}</datalist>
<script src="/ui/assets/form.js?v={version}" defer></script>"##,
        version = crate::ui::layout::ASSET_VERSION.as_str(),
        mode = if existing.is_some() { "edit" } else { "new" },
        spec = escape(&spec_json),
        lock = if running { " disabled" } else { "" },
        key = field(
            "key",
            "Key",
            &key_input,
            "Letters, digits, <code>-</code>, <code>_</code> and <code>.</code>; it names the experiment in the API and cannot change."
        ),
        description = field(
            "description",
            "Description",
            r#"<textarea id="f-description" data-path="description" rows="2" placeholder="Free shipping from 35 € instead of 50 €"></textarea>"#,
            ""
        ),
        touchpoint = field(
            "touchpoint",
            "Touchpoint",
            &text_input(
                "touchpoint",
                r#"type="text" list="known-touchpoints" required placeholder="checkout.shipping""#
            ),
            "Where in your app the variants differ; your app asks <code>POST /v1/assign</code> with this name."
        ),
        traffic = field(
            "traffic",
            "Traffic (% of eligible units)",
            &text_input(
                "traffic",
                r#"type="number" min="0" max="100" step="any" inputmode="decimal" data-scale="100""#
            ),
            ""
        ),
        segments = field(
            "segments",
            "Segments",
            &text_input(
                "segments",
                r#"type="text" data-list="true" placeholder="country, device""#
            ),
            "Attributes to break the results down by, separated by commas."
        ),
        value_event = field(
            "value_event",
            "Revenue event",
            &text_input(
                "value_event",
                r#"type="text" list="known-events" placeholder="purchase""#
            ),
            "Its <code>value</code> sums to revenue per visitor."
        ),
        currency = field(
            "currency",
            "Currency",
            &text_input(
                "currency",
                r#"type="text" maxlength="3" placeholder="EUR" autocapitalize="characters""#
            ),
            "Three capital letters (ISO 4217), shown beside every amount."
        ),
        guardrail_action = field(
            "guardrail_action",
            "When a guardrail is harmed",
            r#"<select id="f-guardrail_action" data-path="guardrail_action"><option value="stop">Stop the experiment</option><option value="rollback">Roll back to control</option><option value="alert">Only alert</option></select>"#,
            ""
        ),
        layer_name = field(
            "layer.name",
            "Layer (optional)",
            &text_input("layer.name", r#"type="text" placeholder="checkout""#),
            "Experiments in one layer never share a unit when their ranges do not overlap."
        ),
        layer_range = field(
            "layer.range",
            "Layer range (from–to, 0–1)",
            &text_input("layer.range", r#"type="text" placeholder="0, 0.5""#),
            ""
        ),
        mde = field(
            "minimum_detectable_effect",
            "Smallest change worth detecting (%)",
            &text_input(
                "minimum_detectable_effect",
                r#"type="number" step="any" min="0" inputmode="decimal" data-scale="100" placeholder="5""#
            ),
            "Relative to control's rate: 5 % means 10 % → 10.5 %."
        ),
        power = field(
            "power",
            "Power (%)",
            &text_input(
                "power",
                r#"type="number" step="any" min="1" max="99" inputmode="decimal" data-scale="100" placeholder="80""#
            ),
            "The chance to detect that change if it is there."
        ),
        window = field(
            "conversion_window_hours",
            "Conversion window (hours)",
            &text_input(
                "conversion_window_hours",
                r#"type="number" step="any" min="0" inputmode="decimal" placeholder="168""#
            ),
            "Events count only this long after the unit's exposure."
        ),
        submit = if existing.is_some() {
            "Save changes"
        } else {
            "Create experiment"
        },
        back = existing
            .map(|e| format!("/ui/experiments/{}", escape(e.key())))
            .unwrap_or_else(|| "/ui".into()),
        events = options(&known.events),
        touchpoints = options(&known.touchpoints),
    );
    page(&title, &body, session)
}
