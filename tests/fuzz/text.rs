//! Cases as text: Rust source (a `&[Op]` literal to paste into the corpus) and a compact
//! numeric encoding (how a case travels to a child process, see `shrink.rs`).

use std::fmt::Write;

use crate::ops::{Action, AllocApi, Bad, FreeApi, Op, ResizeApi, WakerSpec};

fn action(a: Action) -> String {
    match a {
        Action::None => "Action::None".into(),
        Action::AllocFree { size, align } => {
            format!("Action::AllocFree {{ size: {size}, align: {align} }}")
        }
        Action::Keep { size, align } => format!("Action::Keep {{ size: {size}, align: {align} }}"),
        Action::FreeOne => "Action::FreeOne".into(),
    }
}

fn waker(w: WakerSpec) -> String {
    if w == WakerSpec::QUIET {
        return "WakerSpec::QUIET".into();
    }
    format!(
        "WakerSpec {{ on_clone: {}, on_drop: {}, on_wake: {} }}",
        action(w.on_clone),
        action(w.on_drop),
        action(w.on_wake)
    )
}

/// One operation as a Rust expression.
pub fn op(op: &Op) -> String {
    match *op {
        Op::Alloc { id, api, size, align } => {
            format!(
                "Op::Alloc {{ id: {id}, api: AllocApi::{api:?}, size: {size}, align: {align} }}"
            )
        }
        Op::Free { id, api } => format!("Op::Free {{ id: {id}, api: FreeApi::{api:?} }}"),
        Op::Resize { id, api, size, align } => {
            format!(
                "Op::Resize {{ id: {id}, api: ResizeApi::{api:?}, size: {size}, align: {align} }}"
            )
        }
        Op::BadFree { id, bad } => format!("Op::BadFree {{ id: {id}, bad: Bad::{bad:?} }}"),
        Op::Donate { id } => format!("Op::Donate {{ id: {id} }}"),
        Op::Hooks { action: a } => format!("Op::Hooks {{ action: {} }}", action(a)),
        Op::Wait { id, size, align, waker: w } => {
            format!("Op::Wait {{ id: {id}, size: {size}, align: {align}, waker: {} }}", waker(w))
        }
        Op::Poll { id, waker: None } => format!("Op::Poll {{ id: {id}, waker: None }}"),
        Op::Poll { id, waker: Some(w) } => {
            format!("Op::Poll {{ id: {id}, waker: Some({}) }}", waker(w))
        }
        Op::Cancel { id } => format!("Op::Cancel {{ id: {id} }}"),
        Op::ResetStats => "Op::ResetStats".into(),
        Op::ValidatePool { pool } => format!("Op::ValidatePool {{ pool: {pool} }}"),
        Op::Prefetch { size, align } => format!("Op::Prefetch {{ size: {size}, align: {align} }}"),
        Op::Report => "Op::Report".into(),
    }
}

/// A case as a `&[Op]` literal, one operation per line, indented by `indent` spaces.
pub fn ops(ops: &[Op], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = String::from("&[\n");
    for o in ops {
        let _ = writeln!(s, "{pad}    {},", op(o));
    }
    let _ = write!(s, "{pad}]");
    s
}

fn enc_action(a: Action, out: &mut Vec<u32>) {
    out.extend(match a {
        Action::None => [0, 0, 0],
        Action::AllocFree { size, align } => [1, size, align],
        Action::Keep { size, align } => [2, size, align],
        Action::FreeOne => [3, 0, 0],
    });
}

fn enc_waker(w: WakerSpec, out: &mut Vec<u32>) {
    for a in [w.on_clone, w.on_drop, w.on_wake] {
        enc_action(a, out);
    }
}

fn index<T: PartialEq + Copy>(all: &[T], x: T) -> u32 {
    all.iter().position(|&y| y == x).unwrap_or(0) as u32
}

const ALLOC: [AllocApi; 5] = [
    AllocApi::Heap,
    AllocApi::Global,
    AllocApi::GlobalZeroed,
    AllocApi::Api2,
    AllocApi::Api2Zeroed,
];
const FREE: [FreeApi; 3] = [FreeApi::Heap, FreeApi::Global, FreeApi::Api2];
const RESIZE: [ResizeApi; 4] =
    [ResizeApi::Realloc, ResizeApi::Grow, ResizeApi::GrowZeroed, ResizeApi::Shrink];

/// A case as numbers: operations separated by `;`, fields by `,`.
pub fn encode(ops: &[Op]) -> String {
    let mut parts = Vec::new();
    for op in ops {
        let mut v = Vec::new();
        match *op {
            Op::Alloc { id, api, size, align } => {
                v.extend([0, id.into(), index(&ALLOC, api), size, align])
            }
            Op::Free { id, api } => v.extend([1, id.into(), index(&FREE, api)]),
            Op::Resize { id, api, size, align } => {
                v.extend([2, id.into(), index(&RESIZE, api), size, align])
            }
            Op::BadFree { id, bad } => v.extend(match bad {
                Bad::Double => [3, id.into(), 0, 0, 0],
                Bad::Interior { offset } => [3, id.into(), 1, offset, 0],
                Bad::Foreign => [3, id.into(), 2, 0, 0],
                Bad::WrongLayout { size, align } => [3, id.into(), 3, size, align],
            }),
            Op::Donate { id } => v.extend([4, id.into()]),
            Op::Hooks { action } => {
                v.push(5);
                enc_action(action, &mut v);
            }
            Op::Wait { id, size, align, waker } => {
                v.extend([6, id.into(), size, align]);
                enc_waker(waker, &mut v);
            }
            Op::Poll { id, waker } => {
                v.extend([7, id.into(), u32::from(waker.is_some())]);
                enc_waker(waker.unwrap_or(WakerSpec::QUIET), &mut v);
            }
            Op::Cancel { id } => v.extend([8, id.into()]),
            Op::ResetStats => v.push(9),
            Op::ValidatePool { pool } => v.extend([10, pool.into()]),
            Op::Prefetch { size, align } => v.extend([11, size, align]),
            Op::Report => v.push(12),
        }
        parts.push(v.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
    }
    parts.join(";")
}

fn dec_action(v: &[u32]) -> Option<Action> {
    Some(match *v.get(..3)? {
        [0, _, _] => Action::None,
        [1, size, align] => Action::AllocFree { size, align },
        [2, size, align] => Action::Keep { size, align },
        [3, _, _] => Action::FreeOne,
        _ => return None,
    })
}

fn dec_waker(v: &[u32]) -> Option<WakerSpec> {
    Some(WakerSpec {
        on_clone: dec_action(v.get(0..3)?)?,
        on_drop: dec_action(v.get(3..6)?)?,
        on_wake: dec_action(v.get(6..9)?)?,
    })
}

/// The inverse of [`encode`] (`None` on malformed text).
pub fn decode(text: &str) -> Option<Vec<Op>> {
    let mut ops = Vec::new();
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let v: Vec<u32> = part.split(',').map(str::parse).collect::<Result<_, _>>().ok()?;
        let id = |i: usize| v.get(i).and_then(|&x| u16::try_from(x).ok());
        let f = |i: usize| v.get(i).copied();
        ops.push(match *v.first()? {
            0 => Op::Alloc {
                id: id(1)?,
                api: *ALLOC.get(f(2)? as usize)?,
                size: f(3)?,
                align: f(4)?,
            },
            1 => Op::Free { id: id(1)?, api: *FREE.get(f(2)? as usize)? },
            2 => Op::Resize {
                id: id(1)?,
                api: *RESIZE.get(f(2)? as usize)?,
                size: f(3)?,
                align: f(4)?,
            },
            3 => Op::BadFree {
                id: id(1)?,
                bad: match f(2)? {
                    0 => Bad::Double,
                    1 => Bad::Interior { offset: f(3)? },
                    2 => Bad::Foreign,
                    _ => Bad::WrongLayout { size: f(3)?, align: f(4)? },
                },
            },
            4 => Op::Donate { id: id(1)? },
            5 => Op::Hooks { action: dec_action(v.get(1..)?)? },
            6 => Op::Wait { id: id(1)?, size: f(2)?, align: f(3)?, waker: dec_waker(v.get(4..)?)? },
            7 => Op::Poll {
                id: id(1)?,
                waker: (f(2)? == 1).then(|| dec_waker(v.get(3..)?)).flatten(),
            },
            8 => Op::Cancel { id: id(1)? },
            9 => Op::ResetStats,
            10 => Op::ValidatePool { pool: u8::try_from(f(1)?).ok()? },
            11 => Op::Prefetch { size: f(1)?, align: f(2)? },
            12 => Op::Report,
            _ => return None,
        });
    }
    Some(ops)
}
