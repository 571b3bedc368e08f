//! Configuration: `config/default.toml` compiled in as the base layer, then an optional file,
//! then `TOUCHSTONE__SECTION__KEY` environment variables. Validated once at start.

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The defaults, embedded so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub log: LogSettings,
    pub experiments: ExperimentsSettings,
    pub events: EventsSettings,
    pub assign: AssignSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub cors: CorsSettings,
    pub plugins: PluginSettings,
    pub guardrails: GuardrailSettings,
    pub metrics: MetricsSettings,
    pub demo: DemoSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `/metrics` without a key even when keys are configured (behind a trusted network).
    pub public: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFailurePolicy {
    Accept,
    Reject,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSettings {
    pub dir: PathBuf,
    /// Empty: no cache of compiled plugins.
    pub cache_dir: PathBuf,
    pub bindings_dir: PathBuf,
    pub watch_interval_ms: u64,
    pub consume_fuel: bool,
    pub max_instances: u32,
    pub fuel: u64,
    pub epoch_ticks: u64,
    pub memory_bytes: usize,
    pub input_bytes: usize,
    pub output_bytes: usize,
    pub module_bytes: usize,
    pub on_event_failure: EventFailurePolicy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailSettings {
    pub check_interval_seconds: u64,
    pub min_units: u64,
    /// Empty: no webhook.
    pub webhook_url: String,
    /// PEM file of CA certificates the webhook's https receiver may chain to, besides the
    /// compiled-in public roots (a private CA). Empty: public roots only.
    pub webhook_ca_file: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub admin_keys: Vec<String>,
    pub client_keys: Vec<String>,
    /// Keys that may read `/metrics` and nothing else.
    pub metrics_keys: Vec<String>,
    pub session_ttl_seconds: u64,
    /// Failed authentications forgiven per minute per client address (0: no throttle).
    pub failed_attempts_per_minute: u32,
    /// Failed authentications an address may make at once before it is throttled.
    pub failed_attempts_burst: u32,
}

/// Keys never reach a log, not even through `{:?}`.
impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "admin_keys",
                &format_args!("[{} redacted]", self.admin_keys.len()),
            )
            .field(
                "client_keys",
                &format_args!("[{} redacted]", self.client_keys.len()),
            )
            .field(
                "metrics_keys",
                &format_args!("[{} redacted]", self.metrics_keys.len()),
            )
            .field("session_ttl_seconds", &self.session_ttl_seconds)
            .field(
                "failed_attempts_per_minute",
                &self.failed_attempts_per_minute,
            )
            .field("failed_attempts_burst", &self.failed_attempts_burst)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub requests_per_second: u32,
    pub burst: u32,
    pub max_string_bytes: usize,
    pub max_json_depth: usize,
    pub max_payload_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Seconds a request body may take to arrive once its headers have.
    pub body_timeout_seconds: u64,
    pub shutdown_timeout_seconds: u64,
    /// The origin browsers see this server at (`https://touchstone.example`), for the
    /// same-origin rule; empty: taken from each request's Host and scheme.
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentsSettings {
    pub dir: PathBuf,
    pub refresh_interval_ms: u64,
    pub snapshot_time_zone: String,
    pub snapshot_check_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSettings {
    pub max_batch: usize,
    pub max_future_skew_seconds: i64,
}

/// The example storefront at `/demo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    pub enabled: bool,
    pub client_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignSettings {
    pub max_attributes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}` is invalid: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Settings {
    /// Defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Self::load_with_env(file, Self::environment())
    }

    /// Defaults, then `overrides` written as environment variables
    /// (`("TOUCHSTONE__STORE__URL", "redis://…")`), ignoring the process environment: what an
    /// in-process test application runs with, whatever the test process's environment says.
    pub fn with_overrides(overrides: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let source = overrides
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        Self::load_with_env(None, Self::environment().source(Some(source)))
    }

    /// Environment source that reads the list-valued keys as comma-separated values.
    fn environment() -> Environment {
        Environment::with_prefix("TOUCHSTONE")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("auth.admin_keys")
            .with_list_parse_key("auth.client_keys")
            .with_list_parse_key("auth.metrics_keys")
            .with_list_parse_key("cors.allowed_origins")
    }

    fn load_with_env(file: Option<&Path>, env: Environment) -> Result<Settings, SettingsError> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).format(FileFormat::Toml).required(true));
        }
        let mut settings: Settings = builder
            .add_source(env.try_parsing(true))
            .build()?
            .try_deserialize()?;
        // `TOUCHSTONE__AUTH__CLIENT_KEYS=` (set but empty) means no keys, not one empty key.
        settings.auth.admin_keys.retain(|key| !key.is_empty());
        settings.auth.client_keys.retain(|key| !key.is_empty());
        settings.auth.metrics_keys.retain(|key| !key.is_empty());
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| {
            Err(SettingsError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return invalid(
                "server.bind",
                "must be an address with port, e.g. 127.0.0.1:8080",
            );
        }
        // The zone `snapshots::Days` will use (checked here without reaching up to it).
        if jiff::tz::TimeZone::get(&self.experiments.snapshot_time_zone).is_err() {
            return invalid(
                "experiments.snapshot_time_zone",
                "must be an IANA time zone name such as UTC or Europe/Berlin",
            );
        }
        if self.experiments.snapshot_check_seconds == 0 {
            return invalid("experiments.snapshot_check_seconds", "must be at least 1");
        }
        if self.server.max_body_bytes < 1024 {
            return invalid("server.max_body_bytes", "must be at least 1024");
        }
        if self.limits.requests_per_second > 0 && self.limits.burst == 0 {
            return invalid(
                "limits.burst",
                "must be at least 1 when rate limiting is on",
            );
        }
        if self
            .auth
            .admin_keys
            .iter()
            .chain(&self.auth.client_keys)
            .chain(&self.auth.metrics_keys)
            .any(|key| key.len() < 16)
        {
            return invalid("auth", "every API key must be at least 16 characters");
        }
        if self.auth.session_ttl_seconds == 0 {
            return invalid("auth.session_ttl_seconds", "must be at least 1");
        }
        if self.auth.failed_attempts_per_minute > 0 && self.auth.failed_attempts_burst == 0 {
            return invalid(
                "auth.failed_attempts_burst",
                "must be at least 1 when failed attempts are throttled",
            );
        }
        if self.server.body_timeout_seconds == 0 {
            return invalid("server.body_timeout_seconds", "must be at least 1");
        }
        let public_url = self.server.public_url.as_str();
        if !public_url.is_empty() && normalised_origin(public_url).is_none() {
            return invalid(
                "server.public_url",
                "must be empty or an http:// or https:// URL such as https://touchstone.example",
            );
        }
        // Event ids, unit ids and names are capped at 256 bytes by the model; a larger limit
        // here would enroll units whose events are then refused.
        if !(1..=256).contains(&self.limits.max_string_bytes) {
            return invalid("limits.max_string_bytes", "must be between 1 and 256");
        }
        if self.events.max_batch == 0 {
            return invalid("events.max_batch", "must be at least 1");
        }
        if self.experiments.refresh_interval_ms == 0 {
            return invalid("experiments.refresh_interval_ms", "must be at least 1");
        }
        if self.guardrails.check_interval_seconds == 0 {
            return invalid("guardrails.check_interval_seconds", "must be at least 1");
        }
        if self.guardrails.min_units < 2 {
            return invalid(
                "guardrails.min_units",
                "must be at least 2 (an interval needs a variance in each arm)",
            );
        }
        let webhook = self.guardrails.webhook_url.as_str();
        let https = webhook.starts_with("https://");
        if !webhook.is_empty() && !webhook.starts_with("http://") && !https {
            return invalid(
                "guardrails.webhook_url",
                "must be empty (no webhook) or an http:// or https:// URL",
            );
        }
        if !self.guardrails.webhook_ca_file.is_empty() && !https {
            return invalid(
                "guardrails.webhook_ca_file",
                "applies only to an https:// guardrails.webhook_url",
            );
        }
        let url = self.store.url.as_str();
        if !["memory://", "redis://", "rediss://", "redis-cluster://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return invalid(
                "store.url",
                "must start with memory://, redis://, rediss:// or redis-cluster://",
            );
        }
        Ok(())
    }

    /// Whether data lives only in this process.
    pub fn is_embedded_store(&self) -> bool {
        self.store.url.starts_with("memory://")
    }
}

/// `server.public_url` as an origin — `scheme://host[:port]` in lower case, the default port of the scheme dropped, a trailing
/// slash or path dropped; `None` for anything that is not an http(s) origin (`null` included).
pub fn normalised_origin(url: &str) -> Option<String> {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Environment {
        Environment::with_prefix("TOUCHSTONE_TEST_UNSET_PREFIX").separator("__")
    }

    #[test]
    fn the_embedded_defaults_parse_and_validate() {
        let settings = Settings::load_with_env(None, no_env()).expect("defaults are valid");
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert!(settings.is_embedded_store());
    }

    #[test]
    fn environment_variables_override_the_defaults() {
        let source = std::collections::HashMap::from([
            (
                "TOUCHSTONE__SERVER__BIND".to_owned(),
                "127.0.0.1:9000".to_owned(),
            ),
            ("TOUCHSTONE__EVENTS__MAX_BATCH".to_owned(), "50".to_owned()),
        ]);
        let env = Environment::with_prefix("TOUCHSTONE")
            .separator("__")
            .source(Some(source));
        let settings = Settings::load_with_env(None, env).expect("valid overrides");
        assert_eq!(settings.server.bind, "127.0.0.1:9000");
        assert_eq!(settings.events.max_batch, 50);
    }

    #[test]
    fn api_keys_come_from_comma_separated_environment_variables() {
        let source = std::collections::HashMap::from([(
            "TOUCHSTONE__AUTH__ADMIN_KEYS".to_owned(),
            "admin-key-0123456789,admin-key-abcdefghij".to_owned(),
        )]);
        let settings = Settings::load_with_env(None, Settings::environment().source(Some(source)))
            .expect("valid keys");
        assert_eq!(settings.auth.admin_keys.len(), 2);
        assert!(
            !format!("{:?}", settings.auth).contains("admin-key"),
            "keys never printed"
        );
    }

    #[test]
    fn an_invalid_value_names_its_key() {
        let source = std::collections::HashMap::from([(
            "TOUCHSTONE__STORE__URL".to_owned(),
            "postgres://nope".to_owned(),
        )]);
        let env = Environment::with_prefix("TOUCHSTONE")
            .separator("__")
            .source(Some(source));
        let error = Settings::load_with_env(None, env).expect_err("must be refused");
        assert!(error.to_string().contains("store.url"), "{error}");
    }

    fn with_webhook(url: &str, ca_file: &str) -> Result<Settings, SettingsError> {
        let source = std::collections::HashMap::from([
            (
                "TOUCHSTONE__GUARDRAILS__WEBHOOK_URL".to_owned(),
                url.to_owned(),
            ),
            (
                "TOUCHSTONE__GUARDRAILS__WEBHOOK_CA_FILE".to_owned(),
                ca_file.to_owned(),
            ),
        ]);
        Settings::load_with_env(None, Settings::environment().source(Some(source)))
    }

    #[test]
    fn a_webhook_may_be_http_or_https_and_a_ca_file_needs_https() {
        assert!(with_webhook("http://127.0.0.1:9/hook", "").is_ok());
        assert!(with_webhook("https://hooks.example/guard", "").is_ok());
        assert!(with_webhook("https://127.0.0.1:9/hook", "/etc/ca.pem").is_ok());
        let error = with_webhook("ftp://hooks.example", "").expect_err("refused");
        assert!(
            error.to_string().contains("guardrails.webhook_url"),
            "{error}"
        );
        let error = with_webhook("http://127.0.0.1:9/hook", "/etc/ca.pem").expect_err("refused");
        assert!(
            error.to_string().contains("guardrails.webhook_ca_file"),
            "{error}"
        );
    }
}
