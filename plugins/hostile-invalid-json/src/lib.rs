//! Hostile: `eligible` hands back bytes that are not JSON, bypassing the SDK's encoder.
#![allow(unsafe_code)] // `no_mangle` exports without the SDK's macro.

static OUTPUT: &[u8] = b"{\"ok\": {\"checkout\": tru";

#[unsafe(no_mangle)]
pub extern "C" fn touchstone_alloc(len: u32) -> u32 {
    touchstone_plugin_sdk::guest::alloc(len)
}

#[unsafe(no_mangle)]
pub extern "C" fn eligible(_ptr: u32, _len: u32) -> u64 {
    ((OUTPUT.as_ptr() as usize as u64) << 32) | OUTPUT.len() as u64
}
