//! Hostile: imports `env.open`, which the host never grants; it must be refused at load.
#![allow(unsafe_code)] // Declaring and calling a raw import.

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn open(ptr: u32, len: u32) -> i32;
}

#[unsafe(no_mangle)]
pub extern "C" fn touchstone_alloc(_len: u32) -> u32 {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn eligible(ptr: u32, len: u32) -> u64 {
    // SAFETY: never runs; the host refuses the module at load.
    unsafe { open(ptr, len) as u64 }
}
