//! A hook's input as the server builds it for each request: borrowed from the request (none
//! of it cloned into an owned context first) and written straight into the bytes the plugin
//! reads, with the binding's config encoded once per binding ([`EncodedConfig`]) and spliced
//! in, instead of re-encoding the same value on every call. The bytes are exactly what
//! encoding the SDK's owned contexts gives (ABI.md, "Input encoding"): `config` is the last
//! field of every context, and the tests below hold the two encodings together.

use serde::Serialize;
use serde_json::Value;
use touchstone_plugin_sdk::abi::ContextMap;

/// A binding's config in the input encoding, made once when the binding is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedConfig {
    json: Box<str>,
}

impl EncodedConfig {
    /// `null` for a binding without config, as the ABI says.
    pub fn new(config: &Value) -> EncodedConfig {
        // `Value`'s `Display` is its compact encoding: the one `serde_json::to_vec` writes
        // for it inside a context (keys sorted, floats in shortest round-trip form).
        EncodedConfig {
            json: config.to_string().into_boxed_str(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.json
    }
}

/// `eligible`'s input, borrowed from the request.
#[derive(Debug, Clone, Copy)]
pub struct EligibleInput<'a> {
    pub unit_id: &'a str,
    pub touchpoint: &'a str,
    pub experiments: &'a [String],
    pub attributes: &'a ContextMap,
    pub config: &'a EncodedConfig,
}

/// One assignment as `payload` sees it, borrowed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AssignmentRef<'a> {
    pub experiment: &'a str,
    pub variant: &'a str,
    pub payload: &'a Value,
}

/// `payload`'s input, borrowed from the request and its assignments.
#[derive(Debug, Clone)]
pub struct PayloadInput<'a> {
    pub unit_id: &'a str,
    pub touchpoint: &'a str,
    pub assignments: Vec<AssignmentRef<'a>>,
    pub attributes: &'a ContextMap,
    pub config: &'a EncodedConfig,
}

/// The fields before `config`, in the order of the SDK's `EligibleContext`.
#[derive(Serialize)]
struct EligibleHead<'a> {
    unit_id: &'a str,
    touchpoint: &'a str,
    experiments: &'a [String],
    attributes: &'a ContextMap,
}

/// The fields before `config`, in the order of the SDK's `PayloadContext`.
#[derive(Serialize)]
struct PayloadHead<'a> {
    unit_id: &'a str,
    touchpoint: &'a str,
    assignments: &'a [AssignmentRef<'a>],
    attributes: &'a ContextMap,
}

impl EligibleInput<'_> {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let head = EligibleHead {
            unit_id: self.unit_id,
            touchpoint: self.touchpoint,
            experiments: self.experiments,
            attributes: self.attributes,
        };
        with_config(&head, self.config)
    }
}

impl PayloadInput<'_> {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let head = PayloadHead {
            unit_id: self.unit_id,
            touchpoint: self.touchpoint,
            assignments: &self.assignments,
            attributes: self.attributes,
        };
        with_config(&head, self.config)
    }
}

/// `head`'s object with `"config": <config>` appended as its last field.
fn with_config<H: Serialize>(
    head: &H,
    config: &EncodedConfig,
) -> Result<Vec<u8>, serde_json::Error> {
    const CONFIG_KEY: &[u8] = b",\"config\":";
    let mut out = Vec::with_capacity(256 + config.json.len());
    serde_json::to_writer(&mut out, head)?;
    // A struct with fields always ends its object with `}`.
    out.pop();
    out.extend_from_slice(CONFIG_KEY);
    out.extend_from_slice(config.json.as_bytes());
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_plugin_sdk::abi::{Assignment, EligibleContext, PayloadContext};

    fn attributes() -> ContextMap {
        json!({"device": "mobile", "photo_count": 10, "price": 1e3, "name": "Zoë \"q\"", "tags": [1, 2.5]})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    fn configs() -> Vec<Value> {
        vec![
            Value::Null,
            json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
            json!([1, "two", {"b": 1.5e-7, "a": null}]),
            json!("just a string"),
        ]
    }

    #[test]
    fn eligible_input_encodes_byte_for_byte_as_the_owned_context() {
        let experiments = vec!["a".to_owned(), "b-2".to_owned()];
        for attributes in [attributes(), ContextMap::new()] {
            for config in configs() {
                let owned = EligibleContext {
                    unit_id: "u-1".into(),
                    touchpoint: "pdp.gallery".into(),
                    experiments: experiments.clone(),
                    attributes: attributes.clone(),
                    config: config.clone(),
                };
                let encoded = EncodedConfig::new(&config);
                let borrowed = EligibleInput {
                    unit_id: "u-1",
                    touchpoint: "pdp.gallery",
                    experiments: &experiments,
                    attributes: &attributes,
                    config: &encoded,
                };
                assert_eq!(
                    String::from_utf8(borrowed.encode().expect("encodes")),
                    String::from_utf8(serde_json::to_vec(&owned).expect("encodes"))
                );
            }
        }
    }

    #[test]
    fn payload_input_encodes_byte_for_byte_as_the_owned_context() {
        let payloads = [Value::Null, json!({"photos": 4, "layout": "grid"})];
        for assignments in [0, 1, 2] {
            for config in configs() {
                let attributes = attributes();
                let owned = PayloadContext {
                    unit_id: "u-1".into(),
                    touchpoint: "pdp.gallery".into(),
                    assignments: (0..assignments)
                        .map(|i| Assignment {
                            experiment: format!("exp-{i}"),
                            variant: "treatment".into(),
                            payload: payloads[i % 2].clone(),
                        })
                        .collect(),
                    attributes: attributes.clone(),
                    config: config.clone(),
                };
                let encoded = EncodedConfig::new(&config);
                let borrowed = PayloadInput {
                    unit_id: "u-1",
                    touchpoint: "pdp.gallery",
                    assignments: owned
                        .assignments
                        .iter()
                        .map(|a| AssignmentRef {
                            experiment: &a.experiment,
                            variant: &a.variant,
                            payload: &a.payload,
                        })
                        .collect(),
                    attributes: &attributes,
                    config: &encoded,
                };
                assert_eq!(
                    String::from_utf8(borrowed.encode().expect("encodes")),
                    String::from_utf8(serde_json::to_vec(&owned).expect("encodes"))
                );
            }
        }
    }
}
