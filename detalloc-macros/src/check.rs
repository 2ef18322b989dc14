//! The rules a declaration must satisfy. Collects every error (each spanned at the offending
//! token) and only returns a [`Config`] when there are none.

use std::collections::HashMap;

use proc_macro2::Span;

use crate::errors::Errors;
use crate::model::{
    ArenaDecl, ArenaDef, Config, Declaration, Form, KEYS, POOL_KEYS, PoolDecl, PoolDef, Section,
    Spanned, SyncMode, Validate, Value, block_align,
};
use crate::presets;

/// The smallest block: a free block holds a 4-byte link.
const MIN_BLOCK: u64 = 4;
/// Links are 32-bit offsets into a pool's own buffer.
const MAX_POOL_BYTES: u64 = u32::MAX as u64;
/// The largest block alignment (and `align:` value) the rule gives.
const MAX_ALIGN: u64 = 4096;

pub fn check(declaration: Declaration, errors: &mut Errors) -> Option<Config> {
    let Declaration { attrs, vis, form, ident, entries } = declaration;
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut pools = None;
    let mut preset = None;
    let mut sync = Spanned { value: SyncMode::Local, span: ident.span() };
    let mut stats = true;
    let mut validate = Validate::Debug;
    let mut wcet = None;
    let mut hooks = None;
    let mut budget = None;
    let mut align = None;
    let mut spill = false;
    let mut waiters: Option<Spanned<u64>> = None;
    let mut arena: Option<ArenaDecl> = None;
    let mut poison = Validate::Off;

    for entry in entries {
        let name = entry.key.to_string();
        if !KEYS.contains(&name.as_str()) {
            continue; // reported by `parse` as an unknown key
        }
        if seen.contains_key(&name) {
            errors.at(entry.key.span(), format!("duplicate key `{name}`"));
            continue;
        }
        if let Some(other) = arena_conflict(&name, &seen) {
            errors.at(
                entry.key.span(),
                format!(
                    "`{name}` and `{other}` are exclusive: a `detalloc!` declares a heap of pools \
                     or an arena, and this one already has `{other}` (declare the other in a \
                     second `detalloc!`)"
                ),
            );
        }
        let exclusive = match name.as_str() {
            "pools" => seen.get("preset").map(|_| "preset"),
            "preset" => seen.get("pools").map(|_| "pools"),
            _ => None,
        };
        if let Some(other) = exclusive {
            errors.at(
                entry.key.span(),
                format!("`pools` and `preset` are exclusive: this heap already has `{other}`"),
            );
        }
        seen.insert(name, entry.key.span());
        match entry.value {
            Value::Pools(list) => {
                if list.pools.is_empty() {
                    errors.at(
                        list.span,
                        "the pool list is empty: declare at least one pool, e.g. `[16 x 64]`",
                    );
                }
                pools = Some((list.pools, list.span));
            }
            Value::Preset(p) => preset = Some(p),
            Value::Sync(s) => sync = s,
            Value::Stats(s) => stats = s.value,
            Value::Validate(v) => validate = v.value,
            Value::Wcet(t) => wcet = Some(t),
            Value::Hooks(t) => hooks = Some(t),
            Value::Budget(b) => budget = Some(b),
            Value::Align(a) => align = Some(a),
            Value::Spill(s) => spill = s.value,
            Value::Waiters(w) => waiters = Some(w),
            Value::Arena(a) => arena = Some(a),
            Value::Poison(p) => poison = p.value,
            Value::Invalid => {}
        }
    }

    if seen.contains_key("arena") {
        let arena = arena.and_then(|a| check_arena(&a, &form, sync, budget, errors));
        let arena = arena.filter(|_| errors.is_empty())?;
        let total_bytes = arena.size.value;
        return Some(Config {
            attrs,
            vis,
            form,
            ident,
            pools: Vec::new(),
            pools_span: arena.size.span,
            preset: None,
            sync,
            stats,
            validate,
            wcet,
            hooks: None,
            spill: false,
            waiters: 0,
            total_bytes,
            arena: Some(arena),
            poison,
        });
    }
    if let Some(span) = seen.get("poison") {
        errors.at(
            *span,
            "`poison` is an arena key (it overwrites the memory a scope gives back): \
             declare an arena with `arena: SIZE`",
        );
    }

    if pools.is_none()
        && preset.is_none()
        && !seen.contains_key("pools")
        && !seen.contains_key("preset")
    {
        errors.at(
            ident.span(),
            "missing key `pools` (or `preset`): e.g. `pools: [16 x 64, 64 x 32]` or `preset: audio`",
        );
    }
    let (decls, pools_span) = match (pools, preset) {
        (Some((decls, span)), _) => (decls, span),
        (None, Some(preset)) => (presets::pools(preset.value, preset.span), preset.span),
        (None, None) => (Vec::new(), ident.span()),
    };

    let defs = check_pools(&decls, &form, errors);
    let total_bytes = total(&defs, errors);
    if let (Some(budget), Some(total)) = (budget, total_bytes)
        && total > budget.value
    {
        errors.at(
            budget.span,
            format!("the pools need {total} B of blocks, over the budget of {} B", budget.value),
        );
    }
    if let Some(align) = align {
        check_align(align, &decls, errors);
    }
    if let Some(w) = waiters {
        check_waiters(w, sync, errors);
    }

    let total_bytes = total_bytes?;
    if !errors.is_empty() || defs.len() != decls.len() || defs.is_empty() {
        return None;
    }
    Some(Config {
        attrs,
        vis,
        form,
        ident,
        pools: defs,
        pools_span,
        preset: preset.map(|p| p.value),
        sync,
        stats,
        validate,
        wcet,
        hooks,
        spill,
        waiters: waiters.map_or(0, |w| w.value),
        total_bytes,
        arena: None,
        poison,
    })
}

/// The key already seen that `name` cannot stand beside: `arena` against the pool keys.
fn arena_conflict(name: &str, seen: &HashMap<String, Span>) -> Option<&'static str> {
    if name == "arena" {
        POOL_KEYS.iter().copied().find(|k| seen.contains_key(*k))
    } else if POOL_KEYS.contains(&name) && seen.contains_key("arena") {
        Some("arena")
    } else {
        None
    }
}

/// The buffer's alignment when `arena: SIZE` has no `align A`.
const DEFAULT_ARENA_ALIGN: u64 = 16;

/// An arena's rules: a non-zero size within the budget, a power-of-two alignment up to 4096,
/// its section as a pool's, a sync mode an arena has.
fn check_arena(
    arena: &ArenaDecl,
    form: &Form,
    sync: Spanned<SyncMode>,
    budget: Option<Spanned<u64>>,
    errors: &mut Errors,
) -> Option<ArenaDef> {
    let mut ok = true;
    if arena.size.value == 0 {
        errors.at(arena.size.span, "the arena's size is zero: e.g. `arena: 4 KiB`");
        ok = false;
    }
    if let Some(budget) = budget
        && arena.size.value > budget.value
    {
        errors.at(
            budget.span,
            format!(
                "the arena needs {} B, over the budget of {} B",
                arena.size.value, budget.value
            ),
        );
        ok = false;
    }
    let align = arena.align.map_or(DEFAULT_ARENA_ALIGN, |a| a.value);
    if let Some(a) = arena.align
        && (!a.value.is_power_of_two() || a.value > MAX_ALIGN)
    {
        errors.at(
            a.span,
            format!("`align {}` must be a power of two no larger than {MAX_ALIGN}", a.value),
        );
        ok = false;
    }
    if sync.value == SyncMode::LockFree {
        errors.at(
            sync.span,
            "an arena has no `lock_free` mode: allocating in a scope takes no lock at all (the \
             scope owns the arena until it closes), and only opening and closing a scope use the \
             lock: use `sync: critical_section` (interrupts on one core) or `sync: spin` \
             (threads)",
        );
        ok = false;
    }
    ok &= check_sections(&arena.sections, form, errors);
    let section = arena.sections.first().map(|s| s.name.value.clone());
    ok.then_some(ArenaDef { size: arena.size, align, section })
}

/// Per-pool rules; returns the pools that satisfy them.
fn check_pools(decls: &[PoolDecl], form: &Form, errors: &mut Errors) -> Vec<PoolDef> {
    let mut defs = Vec::new();
    let mut previous: Option<u64> = None;
    for decl in decls {
        let (size, count) = (decl.size.value, decl.count.value);
        let mut ok = true;
        if size == 0 {
            errors.at(decl.size.span, "block size is zero: a block needs at least 4 bytes");
            ok = false;
        } else if size < MIN_BLOCK {
            errors.at(
                decl.size.span,
                format!("block size {size} is below 4 bytes: a free block holds a 4-byte link"),
            );
            ok = false;
        }
        if count == 0 {
            errors.at(decl.count.span, "block count is zero: a pool needs at least one block");
            ok = false;
        }
        if let Some(previous) = previous
            && size >= MIN_BLOCK
            && size <= previous
        {
            let what = if size == previous { "duplicates" } else { "is below" };
            errors.at(
                decl.size.span,
                format!("block sizes must be strictly ascending: {size} {what} the previous pool's {previous}"),
            );
            ok = false;
        }
        if size >= MIN_BLOCK {
            previous = Some(size);
        }
        match size.checked_mul(count) {
            None => {
                errors.push(whole_pool(decl, format!("pool {size} x {count} overflows 64 bits")));
                ok = false;
            }
            Some(bytes) if bytes > MAX_POOL_BYTES => {
                errors.push(whole_pool(
                    decl,
                    format!(
                        "pool {size} x {count} spans {bytes} B; a pool is limited to {MAX_POOL_BYTES} B \
                         (links are 32-bit offsets): split it"
                    ),
                ));
                ok = false;
            }
            Some(_) => {}
        }
        ok &= check_sections(&decl.sections, form, errors);
        if ok {
            let section = decl.sections.first().map(|section| section.name.value.clone());
            defs.push(PoolDef { size, count, span: decl.span, section });
        }
    }
    defs
}

/// `in unsafe("SECTION")`: only in the static form, at most once per pool, with the `unsafe`
/// that carries the user's promise, a plain non-empty name.
fn check_sections(sections: &[Section], form: &Form, errors: &mut Errors) -> bool {
    let mut ok = true;
    for (i, section) in sections.iter().enumerate() {
        let name = &section.name;
        if i == 0 && matches!(form, Form::Struct) {
            errors.at(
                section.at,
                "`in unsafe(\"SECTION\")` places a pool's buffer in a linker section, which needs \
                 the static form (each pool's buffer its own static): \
                 `detalloc! { pub static HEAP: Name<pools: [64 x 32 in unsafe(\".dtcm\")]>; }`",
            );
            ok = false;
        }
        if i == 1 {
            errors.at(section.at, "`in` twice on one pool: a pool's buffer lives in one section");
            ok = false;
        }
        if name.value.is_empty() {
            errors.at(name.span, "the section name is empty: e.g. `in unsafe(\".dtcm\")`");
            ok = false;
        } else if name.value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
            errors.at(
                name.span,
                format!(
                    "`{}` is not a linker section name: no spaces, quotes or control characters",
                    name.value.escape_debug()
                ),
            );
            ok = false;
        } else if !section.promised && !matches!(form, Form::Struct) {
            errors.at(
                name.span,
                format!(
                    "placing a pool in a linker section is unsafe: the allocator hands out its \
                     blocks to safe code, so the section must be writable RAM that nothing else \
                     uses (its own output section in the linker script; NOLOAD, never zeroed, is \
                     fine). Write `in unsafe(\"{0}\")` to promise that `{0}` is such a section",
                    name.value.escape_debug()
                ),
            );
            ok = false;
        }
    }
    ok
}

/// An error on a whole `S x N` item, from its size to its count. (`decl.span` is the joined
/// span, which only nightly compilers can join: on stable it is the size alone. A `syn::Error`
/// over two tokens spans the range on any compiler.)
fn whole_pool(decl: &PoolDecl, message: String) -> syn::Error {
    let ends = [decl.size.span, decl.count.span]
        .map(|span| proc_macro2::TokenTree::Ident(proc_macro2::Ident::new("pool", span)));
    syn::Error::new_spanned(ends.into_iter().collect::<proc_macro2::TokenStream>(), message)
}

/// The sum of the pools' bytes; an error on the pool where it overflows `u64`.
fn total(defs: &[PoolDef], errors: &mut Errors) -> Option<u64> {
    let mut total: u64 = 0;
    for def in defs {
        match total.checked_add(def.bytes()) {
            Some(sum) => total = sum,
            None => {
                errors.at(def.span, "the pools' total size overflows 64 bits");
                return None;
            }
        }
    }
    Some(total)
}

/// Most waiting allocations one pool queues (its queue's slots are bits of a `u32`).
const MAX_WAITERS: u64 = 32;

/// `waiters: K`: at most 32, and a mode whose pools have a lock to hand a block over under.
fn check_waiters(waiters: Spanned<u64>, sync: Spanned<SyncMode>, errors: &mut Errors) {
    if waiters.value > MAX_WAITERS {
        errors.at(
            waiters.span,
            format!(
                "`waiters: {}`: a pool queues at most {MAX_WAITERS} waiting allocations",
                waiters.value
            ),
        );
    }
    if waiters.value > 0 && sync.value == SyncMode::LockFree {
        errors.at(
            sync.span,
            "`waiters` hands a freed block to the oldest waiter in the same step as the free, \
             under the pool's lock, and `sync: lock_free` pools have no lock: use `sync: spin` \
             (threads) or `sync: critical_section` (interrupts on one core) with `waiters`",
        );
    }
}

fn check_align(align: Spanned<u64>, decls: &[PoolDecl], errors: &mut Errors) {
    if !align.value.is_power_of_two() || align.value > MAX_ALIGN {
        errors.at(
            align.span,
            format!("`align: {}` must be a power of two no larger than {MAX_ALIGN}", align.value),
        );
        return;
    }
    for decl in decls {
        if decl.size.value % align.value != 0 {
            errors.at(
                decl.size.span,
                format!(
                    "block size {} is not a multiple of `align: {}`, so its blocks are only {}-aligned",
                    decl.size.value,
                    align.value,
                    block_align(decl.size.value)
                ),
            );
        }
    }
}
