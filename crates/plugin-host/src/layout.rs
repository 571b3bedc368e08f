//! What a module's sections say about its footprint, read with `wasmparser` before anything
//! is instantiated: initial memory, the stack the linker reserved, the function table and
//! whether a start function runs at every instantiation. Used to refuse in plain words ("initial
//! memory is 17 pages (1.06 MiB) with about 1 MiB of stack; the limit is …; link with …").

use serde::Serialize;
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef};

pub(crate) const PAGE: u64 = 65_536;

/// The footprint facts `touchstone plugin check` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// Initial and maximum linear memory, in 64 KiB pages.
    pub memory_pages: Option<(u64, Option<u64>)>,
    /// The stack the linker reserved, in bytes, estimated from the initial value of the first
    /// mutable i32 global (`__stack_pointer` in clang/lld and rustc output) and the data.
    pub stack_bytes: Option<u64>,
    /// Initial size of the function table, in elements.
    pub table_elements: Option<u64>,
    pub has_start_function: bool,
}

/// Reads the layout; `None` fields when the module does not say (or does not parse: the
/// compiler's message is the one shown then).
pub(crate) fn read(bytes: &[u8]) -> Layout {
    let mut layout = Layout::default();
    let mut stack_pointer = None;
    let (mut data_start, mut data_end) = (u64::MAX, 0u64);
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports().flatten() {
                    if let TypeRef::Memory(memory) = import.ty {
                        layout.memory_pages = Some((memory.initial, memory.maximum));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                if let Some(Ok(memory)) = reader.into_iter().next() {
                    layout.memory_pages = Some((memory.initial, memory.maximum));
                }
            }
            Payload::TableSection(reader) => {
                if let Some(Ok(table)) = reader.into_iter().next() {
                    layout.table_elements = Some(table.ty.initial);
                }
            }
            Payload::GlobalSection(reader) => {
                stack_pointer = reader.into_iter().flatten().find_map(|global| {
                    if !global.ty.mutable || global.ty.content_type != wasmparser::ValType::I32 {
                        return None;
                    }
                    const_i32(&global.init_expr)
                });
            }
            Payload::DataSection(reader) => {
                for data in reader.into_iter().flatten() {
                    if let DataKind::Active { offset_expr, .. } = data.kind
                        && let Some(offset) = const_i32(&offset_expr)
                    {
                        data_start = data_start.min(offset);
                        data_end = data_end.max(offset + data.data.len() as u64);
                    }
                }
            }
            Payload::StartSection { .. } => layout.has_start_function = true,
            _ => {}
        }
    }
    layout.stack_bytes = stack_pointer.map(|sp| {
        if sp <= data_start {
            sp // the stack comes first (`--stack-first`, rustc's default): 0..sp
        } else {
            sp.saturating_sub(data_end) // data, then the stack up to sp
        }
    });
    layout
}

fn const_i32(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    match expr.get_operators_reader().read().ok()? {
        Operator::I32Const { value } => Some(u64::from(value as u32)),
        _ => None,
    }
}

/// `17 pages (1.06 MiB)`.
pub(crate) fn pages(pages: u64) -> String {
    format!("{pages} pages ({})", mib(pages * PAGE))
}

/// `1.06 MiB`, `64 KiB`.
pub(crate) fn mib(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
    }
}
