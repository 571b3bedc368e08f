//! The guest side of the ABI, used by the code [`export_plugin!`](crate::export_plugin)
//! generates: the input buffer the host writes into, decoding the context, encoding the answer
//! envelope and handing its location back packed in a `u64`. Written without `unsafe`: the
//! input buffer is owned by a static between `touchstone_alloc` and the hook call.

use crate::abi::{Eligibility, EventDecision, HookOutput, Payloads};
use serde::Serialize;
use serde::de::DeserializeOwned;
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
    I: DeserializeOwned,
    F: FnOnce(I) -> R,
    R: IntoHookOutput,
{
    leak(envelope(ptr, len, hook))
}

fn envelope<I, R, F>(ptr: u32, len: u32, hook: F) -> Vec<u8>
where
    I: DeserializeOwned,
    F: FnOnce(I) -> R,
    R: IntoHookOutput,
{
    match take_input(ptr, len) {
        Err(message) => error_envelope(message),
        Ok(input) => match serde_json::from_slice::<I>(&input) {
            Err(error) => error_envelope(format!(
                "the input does not fit the hook's context: {error}"
            )),
            Ok(context) => {
                drop(input);
                hook(context).into_envelope()
            }
        },
    }
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
pub trait Answer: Serialize + private::Sealed {}
impl Answer for Eligibility {}
impl Answer for Payloads {}
impl Answer for Vec<EventDecision> {}

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
        serde_json::to_vec(&HookOutput::Ok(self)).unwrap_or_else(|error| {
            error_envelope(format!("the answer could not be encoded: {error}"))
        })
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
    fn a_context_that_does_not_parse_is_answered_with_an_error() {
        let ptr = alloc(2);
        // The zeroed buffer is not JSON.
        let output = envelope(ptr, 2, |ctx: EligibleContext| ctx.all(true));
        let text = String::from_utf8(output).expect("utf-8");
        assert!(text.contains("does not fit the hook's context"), "{text}");
    }
}
