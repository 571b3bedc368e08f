//! The assign hooks' contexts read in place: [`EligibleView`] and [`PayloadView`] hold the same
//! fields as [`EligibleContext`](crate::EligibleContext) and
//! [`PayloadContext`](crate::PayloadContext), decoded from the same input bytes in one pass by
//! the SDK's own reader ([`crate::json`]): strings borrowed from the input, the attributes an
//! index of raw entries read through typed getters, the config deserialized with serde from its
//! own bytes. A hook that takes a view instead of a context answers the same inputs the same
//! way for a fraction of the fuel (decision 025).

use crate::abi::Eligibility;
use crate::json::{Json, JsonError, JsonStr, Object};
use crate::reader::{FAIL, Reader};
use serde::Deserialize;
use std::borrow::Cow;

/// `attributes`: what the client sent with the assignment request, read on demand.
pub type Attributes<'a> = Object<'a>;

/// Input of `eligible`, read in place. `C` is the plugin's config type (any
/// `serde::Deserialize` type, or [`serde_json::Value`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EligibleView<'a, C = serde_json::Value> {
    pub unit_id: Cow<'a, str>,
    pub touchpoint: Cow<'a, str>,
    /// Keys of the experiments to decide for.
    pub experiments: Vec<Cow<'a, str>>,
    pub attributes: Attributes<'a>,
    pub config: C,
}

impl<C> EligibleView<'_, C> {
    /// The same answer for every experiment at the touchpoint: the common case.
    pub fn all(&self, eligible: bool) -> Eligibility {
        self.experiments
            .iter()
            .map(|key| (key.clone().into_owned(), eligible))
            .collect()
    }
}

/// One experiment's assignment, read in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentView<'a> {
    pub experiment: Cow<'a, str>,
    pub variant: Cow<'a, str>,
    /// The variant's static payload from its definition (`null` when it has none).
    pub payload: Json<'a>,
}

/// Input of `payload`, read in place.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadView<'a, C = serde_json::Value> {
    pub unit_id: Cow<'a, str>,
    pub touchpoint: Cow<'a, str>,
    pub assignments: Vec<AssignmentView<'a>>,
    pub attributes: Attributes<'a>,
    pub config: C,
}

/// The fields every assign context has, gathered while its object is read.
struct Common<'a> {
    unit_id: Option<Cow<'a, str>>,
    touchpoint: Option<Cow<'a, str>>,
    attributes: Option<Attributes<'a>>,
    config: Option<Json<'a>>,
}

impl<'a> Common<'a> {
    /// Reads the value at `at` when `key` is one of the common fields; `None` when it is not.
    fn read(&mut self, reader: &mut Reader<'a>, key: &JsonStr<'a>, at: usize) -> Option<usize> {
        let end = if key.is("unit_id") {
            once(reader, at, &mut self.unit_id, string)
        } else if key.is("touchpoint") {
            once(reader, at, &mut self.touchpoint, string)
        } else if key.is("attributes") {
            once(reader, at, &mut self.attributes, attributes)
        } else if key.is("config") {
            once(reader, at, &mut self.config, |reader, at| {
                let end = reader.value(at, 1);
                (reader.json_at(at, end), end)
            })
        } else {
            return None;
        };
        Some(end)
    }

    fn required(self) -> Result<Required<'a>, JsonError> {
        let Some(unit_id) = self.unit_id else {
            return Err(JsonError::whole("missing field `unit_id`"));
        };
        let Some(touchpoint) = self.touchpoint else {
            return Err(JsonError::whole("missing field `touchpoint`"));
        };
        Ok(Required {
            unit_id,
            touchpoint,
            attributes: self.attributes.unwrap_or_default(),
            config: self.config.unwrap_or(Json::NULL),
        })
    }
}

struct Required<'a> {
    unit_id: Cow<'a, str>,
    touchpoint: Cow<'a, str>,
    attributes: Attributes<'a>,
    config: Json<'a>,
}

/// Reads a field's value into `slot`; a field written twice fails, as in serde's derive.
fn once<'a, T>(
    reader: &mut Reader<'a>,
    at: usize,
    slot: &mut Option<T>,
    read: impl FnOnce(&mut Reader<'a>, usize) -> (T, usize),
) -> usize {
    if slot.is_some() {
        return reader.fail("duplicate field", at);
    }
    let (value, end) = read(reader, at);
    *slot = Some(value);
    end
}

fn string<'a>(reader: &mut Reader<'a>, at: usize) -> (Cow<'a, str>, usize) {
    let (text, end) = reader.string_value(at);
    (text.decode(), end)
}

fn strings<'a>(reader: &mut Reader<'a>, at: usize) -> (Vec<Cow<'a, str>>, usize) {
    let mut out = Vec::new();
    let end = reader.array(at, 1, |reader, at| {
        let (text, end) = reader.string_value(at);
        out.push(text.decode());
        end
    });
    (out, end)
}

fn attributes<'a>(reader: &mut Reader<'a>, at: usize) -> (Attributes<'a>, usize) {
    let mut object = Object::new();
    let end = reader.object(at, 1, |reader, key, at| {
        let end = reader.value(at, 2);
        object.entries.push((key, reader.json_at(at, end)));
        end
    });
    (object, end)
}

fn assignments<'a>(reader: &mut Reader<'a>, at: usize) -> (Vec<AssignmentView<'a>>, usize) {
    let mut out = Vec::new();
    let end = reader.array(at, 1, |reader, at| {
        let (mut experiment, mut variant, mut payload) = (None, None, None);
        let end = reader.object(at, 2, |reader, key, at| {
            if key.is("experiment") {
                once(reader, at, &mut experiment, string)
            } else if key.is("variant") {
                once(reader, at, &mut variant, string)
            } else if key.is("payload") {
                once(reader, at, &mut payload, |reader, at| {
                    let end = reader.value(at, 3);
                    (reader.json_at(at, end), end)
                })
            } else {
                reader.value(at, 3)
            }
        });
        if end == FAIL {
            return FAIL;
        }
        match (experiment, variant) {
            (Some(experiment), Some(variant)) => {
                out.push(AssignmentView {
                    experiment,
                    variant,
                    payload: payload.unwrap_or(Json::NULL),
                });
                end
            }
            (None, _) => reader.fail("missing field `experiment`", at),
            (_, None) => reader.fail("missing field `variant`", at),
        }
    });
    (out, end)
}

/// Reads the context's object, handing each field that is not common to `other` (which
/// returns `None` for a field it does not know either: skipped, as serde's derive does).
fn context<'a>(
    reader: &mut Reader<'a>,
    mut other: impl FnMut(&mut Reader<'a>, &JsonStr<'a>, usize) -> Option<usize>,
) -> Result<Required<'a>, JsonError> {
    let mut common = Common {
        unit_id: None,
        touchpoint: None,
        attributes: None,
        config: None,
    };
    let start = reader.ws(0);
    let end = reader.object(start, 0, |reader, key, at| {
        common
            .read(reader, &key, at)
            .or_else(|| other(reader, &key, at))
            .unwrap_or_else(|| reader.value(at, 1))
    });
    reader.finish(end)?;
    common.required()
}

/// The config deserialized with serde (a missing one reads as `null`, as serde's derive has
/// it).
fn deserialize_config<'a, C: Deserialize<'a>>(config: Json<'a>) -> Result<C, JsonError> {
    config
        .deserialize()
        .map_err(|error| JsonError::whole(format!("config: {error}")))
}

impl<'a, C: Deserialize<'a>> EligibleView<'a, C> {
    /// Reads `eligible`'s input.
    pub fn decode(input: &'a str) -> Result<EligibleView<'a, C>, JsonError> {
        EligibleView::decode_with(input, deserialize_config)
    }
}

impl<'a, C> EligibleView<'a, C> {
    /// Reads `eligible`'s input, making the config from its JSON with `config`.
    pub(crate) fn decode_with(
        input: &'a str,
        config: impl FnOnce(Json<'a>) -> Result<C, JsonError>,
    ) -> Result<EligibleView<'a, C>, JsonError> {
        let mut reader = Reader::new(input);
        let mut experiments = None;
        let common = context(&mut reader, |reader, key, at| {
            key.is("experiments")
                .then(|| once(reader, at, &mut experiments, strings))
        })?;
        let Some(experiments) = experiments else {
            return Err(JsonError::whole("missing field `experiments`"));
        };
        Ok(EligibleView {
            config: config(common.config)?,
            unit_id: common.unit_id,
            touchpoint: common.touchpoint,
            experiments,
            attributes: common.attributes,
        })
    }
}

impl<'a, C: Deserialize<'a>> PayloadView<'a, C> {
    /// Reads `payload`'s input.
    pub fn decode(input: &'a str) -> Result<PayloadView<'a, C>, JsonError> {
        PayloadView::decode_with(input, deserialize_config)
    }
}

impl<'a, C> PayloadView<'a, C> {
    /// Reads `payload`'s input, making the config from its JSON with `config`.
    pub(crate) fn decode_with(
        input: &'a str,
        config: impl FnOnce(Json<'a>) -> Result<C, JsonError>,
    ) -> Result<PayloadView<'a, C>, JsonError> {
        let mut reader = Reader::new(input);
        let mut found = None;
        let common = context(&mut reader, |reader, key, at| {
            key.is("assignments")
                .then(|| once(reader, at, &mut found, assignments))
        })?;
        let Some(assignments) = found else {
            return Err(JsonError::whole("missing field `assignments`"));
        };
        Ok(PayloadView {
            config: config(common.config)?,
            unit_id: common.unit_id,
            touchpoint: common.touchpoint,
            assignments,
            attributes: common.attributes,
        })
    }
}
