//! Reading a hook's output: the `{"ok": …}` / `{"error": …}` envelope and the answer rules of
//! ABI.md ("Answers"), the same for the server and `touchstone plugin run`. An answer object
//! that names an experiment twice is refused rather than letting one of the two silently win.

use crate::error::PluginError;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use touchstone_plugin_sdk::abi::HookOutput;

/// An answer object (experiment → value) whose keys are unique.
pub(crate) struct UniqueMap<V>(pub(crate) BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object keyed by experiment")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "experiment `{key}` is answered twice"
                        )));
                    }
                    entries.insert(key, value);
                }
                Ok(UniqueMap(entries))
            }
        }
        deserializer.deserialize_map(UniqueVisitor(PhantomData))
    }
}

/// The answer inside the envelope, or the error the plugin reported, or why the output is not
/// an envelope holding an answer of type `O`.
pub(crate) fn decode<O: DeserializeOwned>(output: &[u8]) -> Result<O, PluginError> {
    match serde_json::from_slice::<HookOutput<O>>(output) {
        Ok(HookOutput::Ok(answer)) => Ok(answer),
        Ok(HookOutput::Error(message)) => Err(PluginError::Guest(message)),
        Err(error) => Err(PluginError::MalformedOutput(error)),
    }
}

/// The newest ABI version this host runs, as `major.minor`.
pub(crate) fn supported_version() -> String {
    use touchstone_plugin_sdk::abi::{ABI_MINOR_VERSION, ABI_VERSION};
    format!("{ABI_VERSION}.{ABI_MINOR_VERSION}")
}

/// Refuses an answer for an experiment that was not asked about.
pub(crate) fn only_asked<'a, 'b>(
    answered: impl Iterator<Item = &'a String>,
    asked: impl Iterator<Item = &'b str>,
) -> Result<(), PluginError> {
    let asked: std::collections::BTreeSet<&str> = asked.collect();
    for key in answered {
        if !asked.contains(key.as_str()) {
            return Err(PluginError::InvalidAnswer(format!(
                "answered for experiment `{key}`, which was not asked"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_refused() {
        let error = decode::<UniqueMap<bool>>(br#"{"ok":{"a":true,"a":false}}"#)
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("answered twice")
                || format!("{error:?}").contains("answered twice"),
            "{error:?}"
        );
    }

    #[test]
    fn a_string_is_not_a_boolean() {
        assert!(decode::<UniqueMap<bool>>(br#"{"ok":{"a":"yes"}}"#).is_err());
    }

    #[test]
    fn an_envelope_with_both_keys_is_malformed() {
        assert!(decode::<UniqueMap<bool>>(br#"{"ok":{},"error":"x"}"#).is_err());
    }

    #[test]
    fn a_trailing_nul_is_malformed() {
        assert!(decode::<UniqueMap<bool>>(b"{\"ok\":{}}\0").is_err());
    }
}
