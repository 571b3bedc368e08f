//! The workloads (bare endpoint, assign, events, OFREP single and bulk evaluation) and the
//! experiments they run against.

use crate::client::{Connection, Target, Verdict, Workload};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid TOML or JSON definition: {message}")]
    Parse { path: String, message: String },
    #[error("the definition has no {0}")]
    Missing(&'static str),
    #[error("--attributes must be a JSON object")]
    Attributes,
    #[error("{what} answered {status}: {body}")]
    Refused {
        what: String,
        status: StatusCode,
        body: String,
    },
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

/// The experiment the assign and events scenarios run against.
#[derive(Debug, Clone)]
pub struct ExperimentSetup {
    pub key: String,
    pub touchpoint: String,
    pub journey: Vec<String>,
    pub value_event: Option<String>,
    definition: Value,
}

impl ExperimentSetup {
    /// One running experiment at its own touchpoint, two variants, no targeting, no plugin.
    pub fn builtin() -> Result<ExperimentSetup, SetupError> {
        let definition = json!({
            "key": "loadgen",
            "description": "touchstone-loadgen: one experiment at its own touchpoint, no plugin",
            "touchpoint": "loadgen.assign",
            "traffic": 1.0,
            "control": "control",
            "journey": ["view_item", "add_to_cart", "begin_checkout", "purchase"],
            "value_event": "purchase",
            "conversion_window_hours": 168,
            "segments": ["device"],
            "variants": [
                { "key": "control", "weight": 0.5, "payload": { "layout": "carousel" } },
                { "key": "treatment", "weight": 0.5, "payload": { "layout": "grid", "zoom": true } }
            ]
        });
        ExperimentSetup::from_definition(definition)
    }

    /// A definition file (`.toml`, else JSON), e.g. one at a touchpoint with a plugin bound.
    pub fn from_file(path: &Path) -> Result<ExperimentSetup, SetupError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SetupError::Read {
            path: shown.clone(),
            source,
        })?;
        let definition: Value = if path.extension().is_some_and(|ext| ext == "toml") {
            toml::from_str(&text).map_err(|error| SetupError::Parse {
                path: shown.clone(),
                message: error.to_string(),
            })?
        } else {
            serde_json::from_str(&text).map_err(|error| SetupError::Parse {
                path: shown.clone(),
                message: error.to_string(),
            })?
        };
        ExperimentSetup::from_definition(definition)
    }

    fn from_definition(definition: Value) -> Result<ExperimentSetup, SetupError> {
        let text = |field: &'static str| {
            definition
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(SetupError::Missing(field))
        };
        let key = text("key")?;
        let touchpoint = text("touchpoint")?;
        let journey: Vec<String> = definition
            .get("journey")
            .and_then(Value::as_array)
            .map(|stages| {
                stages
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if journey.is_empty() {
            return Err(SetupError::Missing("journey"));
        }
        let value_event = definition
            .get("value_event")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(ExperimentSetup {
            key,
            touchpoint,
            journey,
            value_event,
            definition,
        })
    }

    /// Defines (or re-defines, unchanged) and starts the experiment; both are idempotent.
    pub async fn apply(&self, admin: &Target) -> Result<(), SetupError> {
        let mut connection = Connection::open(admin).await?;
        let body = Bytes::from(self.definition.to_string());
        let path = format!("/v1/experiments/{}", self.key);
        let (status, answer) = connection
            .send(Method::PUT, &path, "application/json", body)
            .await?;
        refuse_unless_success(&format!("PUT {path}"), status, &answer)?;
        let start = format!("{path}/start");
        let (status, answer) = connection
            .send(Method::POST, &start, "application/json", Bytes::new())
            .await?;
        refuse_unless_success(&format!("POST {start}"), status, &answer)
    }
}

/// Defines and starts `count` copies of the built-in experiment, each at its own touchpoint,
/// so bulk evaluation has that many more flags to answer.
pub async fn define_bulk_extras(admin: &Target, count: usize) -> Result<(), SetupError> {
    for index in 0..count {
        let mut setup = ExperimentSetup::builtin()?;
        setup.key = format!("loadgen-bulk-{index}");
        setup.definition["key"] = Value::String(setup.key.clone());
        setup.definition["touchpoint"] = Value::String(format!("loadgen.bulk.{index}"));
        setup.apply(admin).await?;
    }
    Ok(())
}

fn refuse_unless_success(what: &str, status: StatusCode, body: &[u8]) -> Result<(), SetupError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(SetupError::Refused {
            what: what.to_owned(),
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        })
    }
}

/// Uploads a plugin module (named after its file) and binds it, with `config`, to
/// `touchpoint`: the assign scenario then measures the plugin's hooks too.
pub async fn bind_plugin(
    admin: &Target,
    wasm: &Path,
    touchpoint: &str,
    config: &str,
) -> Result<String, SetupError> {
    let shown = wasm.display().to_string();
    let module = std::fs::read(wasm).map_err(|source| SetupError::Read {
        path: shown.clone(),
        source,
    })?;
    let name = wasm
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or(SetupError::Missing("plugin name (the file's stem)"))?
        .to_owned();
    let config: Value = serde_json::from_str(config).map_err(|error| SetupError::Parse {
        path: "--plugin-config".into(),
        message: error.to_string(),
    })?;
    let mut connection = Connection::open(admin).await?;
    let path = format!("/v1/plugins/{name}");
    let (status, answer) = connection
        .send(Method::PUT, &path, "application/wasm", Bytes::from(module))
        .await?;
    refuse_unless_success(&format!("PUT {path}"), status, &answer)?;
    let path = format!("/v1/touchpoints/{touchpoint}");
    let binding = json!({ "plugin": name, "config": config }).to_string();
    let (status, answer) = connection
        .send(Method::PUT, &path, "application/json", Bytes::from(binding))
        .await?;
    refuse_unless_success(&format!("PUT {path}"), status, &answer)?;
    Ok(name)
}

/// Removes `touchpoint`'s plugin binding (the module stays uploaded).
pub async fn unbind_plugin(admin: &Target, touchpoint: &str) -> Result<(), SetupError> {
    let mut connection = Connection::open(admin).await?;
    let path = format!("/v1/touchpoints/{touchpoint}");
    let (status, answer) = connection
        .send(Method::DELETE, &path, "application/json", Bytes::new())
        .await?;
    refuse_unless_success(&format!("DELETE {path}"), status, &answer)
}

/// The assign body of unit `{run}-{n}`; the bare endpoint gets the same body.
pub struct AssignBodies {
    run: String,
    /// The touchpoint as a JSON string, quoted once.
    touchpoint: String,
    /// The attributes as a JSON object, serialized once.
    attributes: String,
}

impl AssignBodies {
    pub fn new(run: &str, touchpoint: &str, attributes: &str) -> Result<AssignBodies, SetupError> {
        let attributes: Value =
            serde_json::from_str(attributes).map_err(|_| SetupError::Attributes)?;
        if !attributes.is_object() {
            return Err(SetupError::Attributes);
        }
        Ok(AssignBodies {
            run: run.to_owned(),
            touchpoint: Value::String(touchpoint.to_owned()).to_string(),
            attributes: attributes.to_string(),
        })
    }

    fn body(&self, n: u64) -> Bytes {
        let mut body = String::with_capacity(96 + self.attributes.len());
        // Writing to a String cannot fail.
        let _ = write!(
            body,
            r#"{{"unit_id":"{}-{n}","touchpoint":{},"attributes":{}}}"#,
            self.run, self.touchpoint, self.attributes
        );
        Bytes::from(body)
    }
}

/// The bare endpoint: any 200 is a success.
pub struct Bare(pub AssignBodies);

impl Workload for Bare {
    fn path(&self) -> &str {
        crate::bare::PATH
    }

    fn body(&self, n: u64) -> Bytes {
        self.0.body(n)
    }

    fn check(&self, status: StatusCode, _body: &[u8]) -> Verdict {
        if status == StatusCode::OK {
            Verdict::Ok { items: 1 }
        } else {
            Verdict::Failed
        }
    }
}

/// POST /v1/assign, a new unit each time: a success is a 200 with an assignment whose
/// exposure was recorded.
pub struct Assign(pub AssignBodies);

impl Workload for Assign {
    fn path(&self) -> &str {
        "/v1/assign"
    }

    fn body(&self, n: u64) -> Bytes {
        self.0.body(n)
    }

    fn check(&self, status: StatusCode, body: &[u8]) -> Verdict {
        if status == StatusCode::OK
            && contains(body, br#""assignments":[{"#)
            && contains(body, br#""exposures_recorded":true"#)
        {
            Verdict::Ok { items: 1 }
        } else {
            Verdict::Failed
        }
    }
}

/// OFREP single evaluation of the experiment, a new unit each time: a success is a 200 with
/// the unit randomized in (`SPLIT`) and no store failure.
pub struct Ofrep {
    pub path: String,
    pub bodies: OfrepBodies,
}

impl Workload for Ofrep {
    fn path(&self) -> &str {
        &self.path
    }

    fn body(&self, n: u64) -> Bytes {
        self.bodies.body(n)
    }

    fn check(&self, status: StatusCode, body: &[u8]) -> Verdict {
        if status == StatusCode::OK
            && contains(body, br#""reason":"SPLIT""#)
            && !contains(body, br#""exposure_recorded":false"#)
        {
            Verdict::Ok { items: 1 }
        } else {
            Verdict::Failed
        }
    }
}

/// OFREP bulk evaluation of every flag, a new unit each time: a success is a 200 with flags.
pub struct OfrepBulk(pub OfrepBodies);

impl Workload for OfrepBulk {
    fn path(&self) -> &str {
        "/ofrep/v1/evaluate/flags"
    }

    fn body(&self, n: u64) -> Bytes {
        self.0.body(n)
    }

    fn check(&self, status: StatusCode, body: &[u8]) -> Verdict {
        if status == StatusCode::OK && contains(body, br#""flags":[{"#) {
            Verdict::Ok { items: 1 }
        } else {
            Verdict::Failed
        }
    }
}

/// The OFREP body of unit `{run}-o{n}`: `{"context": {"targetingKey", ...attributes}}`.
pub struct OfrepBodies {
    run: String,
    /// The attributes' members as JSON (`"device":"mobile"`), serialized once.
    members: String,
}

impl OfrepBodies {
    pub fn new(run: &str, attributes: &str) -> Result<OfrepBodies, SetupError> {
        let attributes: Value =
            serde_json::from_str(attributes).map_err(|_| SetupError::Attributes)?;
        let object = attributes.as_object().ok_or(SetupError::Attributes)?;
        let members = object
            .iter()
            .map(|(name, value)| format!(",{}:{value}", Value::String(name.clone())))
            .collect();
        Ok(OfrepBodies {
            run: run.to_owned(),
            members,
        })
    }

    fn body(&self, n: u64) -> Bytes {
        let mut body = String::with_capacity(64 + self.members.len());
        // Writing to a String cannot fail.
        let _ = write!(
            body,
            r#"{{"context":{{"targetingKey":"{}-o{n}"{}}}}}"#,
            self.run, self.members
        );
        Bytes::from(body)
    }
}

/// Which unit and which journey stage each event of a batch is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrder {
    /// Every assigned unit views, then the next pass adds to cart, and so on.
    Walk,
    /// A random unit among the first `units` assigned and a random stage, each event (a
    /// fixed-seed generator: the same run sends the same events).
    Random { units: u64 },
}

/// POST /v1/events: batches of events of units the assign scenario exposed.
pub struct Events {
    run: String,
    batch: u64,
    /// Units `{run}-0` .. `{run}-{assigned - 1}` were assigned.
    assigned: u64,
    order: EventOrder,
    journey: Vec<String>,
    value_event: Option<String>,
}

impl Events {
    pub fn new(
        run: &str,
        batch: usize,
        assigned: u64,
        order: EventOrder,
        setup: &ExperimentSetup,
    ) -> Events {
        Events {
            run: run.to_owned(),
            batch: batch.max(1) as u64,
            assigned: assigned.max(1),
            order,
            journey: setup.journey.clone(),
            value_event: setup.value_event.clone(),
        }
    }

    /// The unit number and journey stage of event number `k`.
    fn unit_and_stage(&self, k: u64) -> (u64, usize) {
        let stages = self.journey.len() as u64;
        match self.order {
            EventOrder::Walk => (k % self.assigned, ((k / self.assigned) % stages) as usize),
            EventOrder::Random { units } => {
                let draw = splitmix64(k);
                let units = units.clamp(1, self.assigned);
                (draw % units, ((draw >> 40) % stages) as usize)
            }
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a well-mixed 64-bit value per input, enough for
/// spreading events over units without a random-number dependency.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Workload for Events {
    fn path(&self) -> &str {
        "/v1/events"
    }

    fn body(&self, n: u64) -> Bytes {
        let mut body = String::with_capacity(16 + 110 * self.batch as usize);
        body.push_str(r#"{"events":["#);
        for i in 0..self.batch {
            let k = n * self.batch + i;
            let (unit, stage) = self.unit_and_stage(k);
            let name = &self.journey[stage];
            if i > 0 {
                body.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(
                body,
                r#"{{"id":"{run}-e{k}","unit_id":"{run}-{unit}","name":"{name}""#,
                run = self.run
            );
            if self.value_event.as_deref() == Some(name.as_str()) {
                body.push_str(r#","value":42.5"#);
            }
            body.push('}');
        }
        body.push_str("]}");
        Bytes::from(body)
    }

    fn check(&self, status: StatusCode, body: &[u8]) -> Verdict {
        let accepted = number_after(body, br#""accepted":"#);
        let duplicates = number_after(body, br#""duplicates":"#);
        match (status, accepted, duplicates) {
            (StatusCode::OK, Some(accepted), Some(duplicates))
                if accepted + duplicates == self.batch =>
            {
                Verdict::Ok { items: accepted }
            }
            _ => Verdict::Failed,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The unsigned integer right after `label` in a JSON answer.
fn number_after(body: &[u8], label: &[u8]) -> Option<u64> {
    let start = body
        .windows(label.len())
        .position(|window| window == label)?
        + label.len();
    let digits: &[u8] = &body[start..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// A run id that keeps unit and event ids apart across runs against one long-lived store.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!("lg{:x}", nanos % (1u128 << 48))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_experiment_names_its_key_touchpoint_and_journey() {
        let setup = ExperimentSetup::builtin().expect("the built-in definition");
        assert_eq!(setup.key, "loadgen");
        assert_eq!(setup.touchpoint, "loadgen.assign");
        assert_eq!(setup.journey.len(), 4);
        assert_eq!(setup.value_event.as_deref(), Some("purchase"));
    }

    #[test]
    fn assign_bodies_are_json_with_a_unit_per_request_number() {
        let bodies = AssignBodies::new("r1", "pdp.\"gallery\"", r#"{"device":"mobile"}"#)
            .expect("valid attributes");
        let body: Value = serde_json::from_slice(&bodies.body(7)).expect("JSON");
        assert_eq!(body["unit_id"], "r1-7");
        assert_eq!(body["touchpoint"], "pdp.\"gallery\"");
        assert_eq!(body["attributes"]["device"], "mobile");
    }

    #[test]
    fn ofrep_bodies_carry_the_unit_as_targeting_key_beside_the_attributes() {
        let bodies = OfrepBodies::new("r1", r#"{"device":"mobile","cart":12}"#).expect("valid");
        let body: Value = serde_json::from_slice(&bodies.body(3)).expect("JSON");
        assert_eq!(body["context"]["targetingKey"], "r1-o3");
        assert_eq!(body["context"]["device"], "mobile");
        assert_eq!(body["context"]["cart"], 12);
        let bare = OfrepBodies::new("r1", "{}").expect("valid");
        let body: Value = serde_json::from_slice(&bare.body(0)).expect("JSON");
        assert_eq!(body["context"]["targetingKey"], "r1-o0");
    }

    #[test]
    fn attributes_that_are_not_an_object_are_refused() {
        assert!(AssignBodies::new("r", "t", "[1]").is_err());
        assert!(AssignBodies::new("r", "t", "{").is_err());
    }

    #[test]
    fn event_batches_walk_the_journey_over_assigned_units_with_unique_ids() {
        let events = Events::new(
            "r",
            50,
            30,
            EventOrder::Walk,
            &ExperimentSetup::builtin().expect("the built-in definition"),
        );
        let first: Value = serde_json::from_slice(&events.body(0)).expect("JSON");
        let second: Value = serde_json::from_slice(&events.body(1)).expect("JSON");
        let all: Vec<&Value> = first["events"]
            .as_array()
            .expect("events")
            .iter()
            .chain(second["events"].as_array().expect("events"))
            .collect();
        assert_eq!(all.len(), 100);
        // 30 units: events 0..29 view, 30..59 add to cart, 60..89 begin checkout, 90.. purchase.
        assert_eq!(all[0]["unit_id"], "r-0");
        assert_eq!(all[0]["name"], "view_item");
        assert_eq!(all[30]["unit_id"], "r-0");
        assert_eq!(all[30]["name"], "add_to_cart");
        assert_eq!(all[95]["unit_id"], "r-5");
        assert_eq!(all[95]["name"], "purchase");
        assert_eq!(all[95]["value"], 42.5);
        assert!(all[0].get("value").is_none());
        let mut ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().expect("id")).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn random_batches_spread_over_the_first_units_and_every_stage_with_unique_ids() {
        let events = Events::new(
            "r",
            50,
            1_000,
            EventOrder::Random { units: 100 },
            &ExperimentSetup::builtin().expect("the built-in definition"),
        );
        let mut units = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for n in 0..40 {
            let batch: Value = serde_json::from_slice(&events.body(n)).expect("JSON");
            for event in batch["events"].as_array().expect("events") {
                let unit = event["unit_id"].as_str().expect("unit");
                let number: u64 = unit["r-".len()..].parse().expect("a unit number");
                assert!(number < 100, "{unit} is beyond the first 100 units");
                units.insert(number);
                names.insert(event["name"].as_str().expect("name").to_owned());
                ids.insert(event["id"].as_str().expect("id").to_owned());
                assert_eq!(event.get("value").is_some(), event["name"] == "purchase");
            }
        }
        // 2 000 draws over 100 units and 4 stages: all of them come up.
        assert_eq!(units.len(), 100);
        assert_eq!(names.len(), 4);
        assert_eq!(ids.len(), 2_000);
        // Fewer units assigned than asked for: only assigned ones are drawn.
        let few = Events::new(
            "r",
            50,
            7,
            EventOrder::Random { units: 20_000 },
            &ExperimentSetup::builtin().expect("the built-in definition"),
        );
        let batch: Value = serde_json::from_slice(&few.body(0)).expect("JSON");
        for event in batch["events"].as_array().expect("events") {
            let unit = event["unit_id"].as_str().expect("unit");
            assert!(unit["r-".len()..].parse::<u64>().expect("number") < 7);
        }
    }

    #[test]
    fn an_events_answer_succeeds_only_when_the_whole_batch_was_taken() {
        let events = Events::new(
            "r",
            50,
            10,
            EventOrder::Walk,
            &ExperimentSetup::builtin().expect("the built-in definition"),
        );
        let whole = br#"{"accepted":48,"duplicates":2,"errors":[]}"#;
        let short = br#"{"accepted":40,"duplicates":0,"errors":[{"index":3}]}"#;
        assert_eq!(
            events.check(StatusCode::OK, whole),
            Verdict::Ok { items: 48 }
        );
        assert_eq!(events.check(StatusCode::OK, short), Verdict::Failed);
        assert_eq!(
            events.check(StatusCode::SERVICE_UNAVAILABLE, whole),
            Verdict::Failed
        );
    }

    #[test]
    fn an_assign_answer_succeeds_only_with_an_assignment_whose_exposure_was_recorded() {
        let assign = Assign(AssignBodies::new("r", "t", "{}").expect("valid"));
        let recorded =
            br#"{"unit_id":"r-1","assignments":[{"experiment":"e"}],"exposures_recorded":true}"#;
        let lost =
            br#"{"unit_id":"r-1","assignments":[{"experiment":"e"}],"exposures_recorded":false}"#;
        let none = br#"{"unit_id":"r-1","assignments":[],"exposures_recorded":true}"#;
        assert_eq!(
            assign.check(StatusCode::OK, recorded),
            Verdict::Ok { items: 1 }
        );
        assert_eq!(assign.check(StatusCode::OK, lost), Verdict::Failed);
        assert_eq!(assign.check(StatusCode::OK, none), Verdict::Failed);
    }

    #[test]
    fn definition_files_in_toml_are_read_for_key_touchpoint_and_journey() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/experiments/pdp-gallery.toml");
        let setup = ExperimentSetup::from_file(&path).expect("the example definition");
        assert_eq!(setup.key, "pdp-gallery");
        assert_eq!(setup.touchpoint, "pdp.gallery");
        assert_eq!(setup.journey[0], "view_item");
    }
}
