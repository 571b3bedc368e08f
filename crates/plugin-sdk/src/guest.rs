//! The guest side of the ABI, used by the code [`export_plugin!`](crate::export_plugin)
//! generates: the input buffer the host writes into, decoding the context, encoding the answer
//! envelope and handing its location back packed in a `u64`. Written without `unsafe`: the
//! input buffer is owned by a static between `touchstone_alloc` and the hook call.

use crate::abi::{
    Eligibility, EligibleContext, EventContext, EventDecision, HookOutput, PayloadContext, Payloads,
};
use crate::json::{Json, JsonError};
use crate::view::{EligibleView, PayloadView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt::Display;
use std::sync::Mutex;

/// The buffer handed to the host by the last `touchstone_alloc`. A plugin instance serves one
/// call, so there is only ever one input in flight.
static INPUT: Mutex<Option<Box<[u8]>>> = Mutex::new(None);

/// Reserves `len` zeroed bytes and returns their address (`touchstone_alloc`).
pub fn alloc(len: u32) -> u32 {
    let buffer = vec![0u8; len as usize].into_boxed_slice();
    let address = address_of(&buffer);
    if let Ok(mut slot) = INPUT.lock() {
        *slot = Some(buffer);
    }
    address
}

/// Runs one hook: decodes the input the host wrote, calls the author's function and returns
/// the packed location (`ptr << 32 | len`) of the JSON envelope it answered.
pub fn run<I, R, F>(ptr: u32, len: u32, hook: F) -> u64
where
    I: HookInput,
    F: FnOnce(I) -> R,
    R: IntoHookOutput,
{
    leak(envelope(ptr, len, hook))
}

fn envelope<I, R, F>(ptr: u32, len: u32, hook: F) -> Vec<u8>
where
    I: HookInput,
    F: FnOnce(I) -> R,
    R: IntoHookOutput,
{
    match take_input(ptr, len) {
        Err(message) => error_envelope(message),
        // A view borrows from the input for the rest of the instance's life, which is at most
        // one request (the host drops the instance afterwards), so the input is leaked rather
        // than copied; the bump allocator would not have reclaimed it anyway.
        Ok(input) => match I::decode(Box::leak(input)) {
            Err(error) => error_envelope(format!(
                "the input does not fit the hook's context: {error}"
            )),
            Ok(context) => hook(context).into_envelope(),
        },
    }
}

/// What a hook function may take: the owned contexts of [`crate::abi`] (decoded with
/// serde_json) or the views of [`crate::view`] (read in place by the SDK's reader).
pub trait HookInput: Sized {
    fn decode(input: &'static [u8]) -> Result<Self, String>;
}

fn from_serde<T: DeserializeOwned>(input: &[u8]) -> Result<T, String> {
    serde_json::from_slice(input).map_err(|error| error.to_string())
}

fn utf8(input: &'static [u8]) -> Result<&'static str, String> {
    crate::ascii::as_str(input).map_err(|error| format!("the input is not UTF-8: {error}"))
}

impl<C: DeserializeOwned> HookInput for EligibleContext<C> {
    fn decode(input: &'static [u8]) -> Result<Self, String> {
        from_serde(input)
    }
}

impl<C: DeserializeOwned> HookInput for PayloadContext<C> {
    fn decode(input: &'static [u8]) -> Result<Self, String> {
        from_serde(input)
    }
}

impl<C: DeserializeOwned> HookInput for EventContext<C> {
    fn decode(input: &'static [u8]) -> Result<Self, String> {
        from_serde(input)
    }
}

impl<C: Deserialize<'static> + Clone + Send + 'static> HookInput for EligibleView<'static, C> {
    fn decode(input: &'static [u8]) -> Result<Self, String> {
        EligibleView::decode_with(utf8(input)?, config).map_err(|error| error.to_string())
    }
}

impl<C: Deserialize<'static> + Clone + Send + 'static> HookInput for PayloadView<'static, C> {
    fn decode(input: &'static [u8]) -> Result<Self, String> {
        PayloadView::decode_with(utf8(input)?, config).map_err(|error| error.to_string())
    }
}

/// The config the last call of this instance deserialized, and the bytes it came from.
type KeptConfig = Option<(&'static str, Box<dyn Any + Send>)>;
static CONFIG: Mutex<KeptConfig> = Mutex::new(None);

/// A view's config, deserialized once per instance: the host runs a request's `eligible` and
/// `payload` in one instance (ABI 1.1) with the binding's config byte for byte the same, so
/// the second call clones what the first one deserialized instead of reading it again (the
/// gallery's config is ~3 000 fuel to deserialize, a clone ~300). Keyed on the exact bytes
/// and the type; an instance never outlives its request, so nothing crosses requests.
fn config<C: Deserialize<'static> + Clone + Send + 'static>(
    json: Json<'static>,
) -> Result<C, JsonError> {
    let Ok(mut kept) = CONFIG.lock() else {
        return deserialize_config(json);
    };
    if let Some((bytes, value)) = kept.as_ref()
        && same_bytes(bytes.as_bytes(), json.raw().as_bytes())
        && let Some(config) = value.downcast_ref::<C>()
    {
        return Ok(config.clone());
    }
    let config: C = deserialize_config(json)?;
    *kept = Some((json.raw(), Box::new(config.clone())));
    Ok(config)
}

/// `a == b` eight bytes per step: wasm's `memcmp` compares one byte per loop turn, ~10 fuel
/// a byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a_words.remainder() == b_words.remainder();
    tails_equal
        && a_words.zip(b_words).all(|(x, y)| {
            let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
            word(x) == word(y)
        })
}

fn deserialize_config<C: Deserialize<'static>>(json: Json<'static>) -> Result<C, JsonError> {
    json.deserialize()
        .map_err(|error| JsonError::whole(format!("config: {error}")))
}

fn take_input(ptr: u32, len: u32) -> Result<Box<[u8]>, String> {
    let buffer = INPUT
        .lock()
        .map_err(|_| "the input buffer is poisoned".to_string())?
        .take()
        .ok_or_else(|| "the hook was called without touchstone_alloc".to_string())?;
    if address_of(&buffer) != ptr || buffer.len() != len as usize {
        return Err(format!(
            "the input ({len} bytes at {ptr}) is not where touchstone_alloc reserved it"
        ));
    }
    Ok(buffer)
}

/// The output must outlive the call so the host can read it; the host drops the whole
/// instance afterwards, so leaking is the deallocation.
fn leak(bytes: Vec<u8>) -> u64 {
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    (u64::from(address_of(bytes)) << 32) | bytes.len() as u64
}

fn address_of(bytes: &[u8]) -> u32 {
    // Addresses are 32-bit on wasm32, the only target the ABI is meant for.
    bytes.as_ptr() as usize as u32
}

fn error_envelope(message: String) -> Vec<u8> {
    serde_json::to_vec(&HookOutput::<()>::Error(message)).unwrap_or_default()
}

/// A hook's answer. Sealed: only the three answer types of the ABI implement it.
pub trait Answer: Serialize + private::Sealed {
    /// Appends the answer's JSON to `out`.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error>;
}

/// `{"key":true,…}` written directly: the same bytes serde_json writes, without its machinery.
impl Answer for Eligibility {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'{');
        for (index, (key, eligible)) in self.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_json_string(out, key);
            out.extend_from_slice(if *eligible { b":true" } else { b":false" });
        }
        out.push(b'}');
        Ok(())
    }
}

/// Keys written directly, each payload by serde_json.
impl Answer for Payloads {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'{');
        for (index, (key, payload)) in self.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_json_string(out, key);
            out.push(b':');
            serde_json::to_writer(&mut *out, payload)?;
        }
        out.push(b'}');
        Ok(())
    }
}

impl Answer for Vec<EventDecision> {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it: `"`, `\\` and control bytes only.
pub(crate) fn write_json_string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let special = crate::reader::plain_run_end(bytes, start);
        out.extend_from_slice(bytes.get(start..special).unwrap_or_default());
        let Some(&byte) = bytes.get(special) else {
            break;
        };
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            control => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(control >> 4)]);
                out.push(HEX[usize::from(control & 0xf)]);
            }
        }
        start = special + 1;
    }
    out.push(b'"');
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Eligibility {}
    impl Sealed for super::Payloads {}
    impl Sealed for Vec<super::EventDecision> {}
}

/// What an author's hook function may return: the answer, or `Result<answer, E: Display>`.
pub trait IntoHookOutput {
    /// The JSON envelope `{"ok": answer}` or `{"error": message}`.
    fn into_envelope(self) -> Vec<u8>;
}

impl<T: Answer> IntoHookOutput for T {
    fn into_envelope(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"{\"ok\":");
        match self.write_json(&mut out) {
            Ok(()) => {
                out.push(b'}');
                out
            }
            Err(error) => error_envelope(format!("the answer could not be encoded: {error}")),
        }
    }
}

impl<T: Answer, E: Display> IntoHookOutput for Result<T, E> {
    fn into_envelope(self) -> Vec<u8> {
        match self {
            Ok(answer) => answer.into_envelope(),
            Err(error) => error_envelope(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::EligibleContext;
    use serde_json::Value;

    #[test]
    fn a_result_error_becomes_an_error_envelope() {
        let result: Result<Eligibility, &str> = Err("no config");
        assert_eq!(result.into_envelope(), br#"{"error":"no config"}"#.to_vec());
    }

    #[test]
    fn an_input_that_is_not_where_alloc_put_it_is_refused() {
        let ptr = alloc(2);
        let output = envelope(ptr.wrapping_add(1), 2, |ctx: EligibleContext| ctx.all(true));
        let text = String::from_utf8(output).expect("utf-8");
        assert!(text.starts_with(r#"{"error":"#), "{text}");
        assert!(
            text.contains("is not where touchstone_alloc reserved it"),
            "{text}"
        );
    }

    #[test]
    fn answers_are_written_byte_for_byte_as_serde_json_writes_them() {
        let keys = [
            "plain",
            "quote \" backslash \\",
            "controls \n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "ünïcödé 😀",
            "",
        ];
        let eligibility: Eligibility = keys
            .iter()
            .enumerate()
            .map(|(index, key)| (key.to_string(), index % 2 == 0))
            .collect();
        let payloads: Payloads = keys
            .iter()
            .map(|key| {
                let payload = serde_json::json!({"k": key, "n": [1, -2, 1.5, 1e3], "o": {}});
                (key.to_string(), payload)
            })
            .collect();
        let expected = |answer: &dyn erased::Answer| answer.serde();
        assert_eq!(eligibility.clone().into_envelope(), expected(&eligibility));
        assert_eq!(payloads.clone().into_envelope(), expected(&payloads));
        assert_eq!(Eligibility::new().into_envelope(), br#"{"ok":{}}"#.to_vec());
    }

    /// serde_json's own encoding of an answer's envelope, the reference.
    mod erased {
        pub trait Answer {
            fn serde(&self) -> Vec<u8>;
        }
        impl<T: serde::Serialize> Answer for T {
            fn serde(&self) -> Vec<u8> {
                serde_json::to_vec(&crate::abi::HookOutput::Ok(self)).expect("serializes")
            }
        }
    }

    #[test]
    fn a_config_is_deserialized_again_when_its_bytes_or_type_differ() {
        use crate::json::parse;
        let first = r#"{"n":1}"#;
        let second = r#"{"n":2}"#;
        for text in [first, first, second, first, second, second] {
            let json = parse(text).expect("json");
            let expected: Value = serde_json::from_str(text).expect("json");
            assert_eq!(config::<Value>(json).expect("config"), expected);
            let typed: std::collections::BTreeMap<String, u64> = config(json).expect("config");
            assert_eq!(typed.get("n"), expected["n"].as_u64().as_ref());
        }
        assert!(config::<u64>(parse(first).expect("json")).is_err());
    }

    #[test]
    fn a_view_of_an_input_that_does_not_parse_is_answered_with_an_error() {
        let ptr = alloc(3);
        let output = envelope(ptr, 3, |ctx: EligibleView<Value>| ctx.all(true));
        let text = String::from_utf8(output).expect("utf-8");
        assert!(text.starts_with(r#"{"error":"#), "{text}");
        assert!(text.contains("does not fit the hook's context"), "{text}");
    }

    #[test]
    fn a_context_that_does_not_parse_is_answered_with_an_error() {
        let ptr = alloc(2);
        // The zeroed buffer is not JSON.
        let output = envelope(ptr, 2, |ctx: EligibleContext| ctx.all(true));
        let text = String::from_utf8(output).expect("utf-8");
        assert!(text.contains("does not fit the hook's context"), "{text}");
    }
}
