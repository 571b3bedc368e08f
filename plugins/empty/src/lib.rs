//! The benchmark floor: the smallest module that passes load-time checks. Its hook does no
//! work and reads no input, so a call costs only instantiation and entry.
#![allow(unsafe_code)] // `no_mangle` exports without the SDK.

#[unsafe(no_mangle)]
pub extern "C" fn touchstone_alloc(_len: u32) -> u32 {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn eligible(_ptr: u32, _len: u32) -> u64 {
    0
}
