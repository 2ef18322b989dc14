//! Tokens to a spanned [`Declaration`]. Reads token after token and recovers after a bad
//! value (skipping to the next `,` or `>`), so every mistake gets its own error.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Ident, LitBool, LitInt, Token, Type, Visibility};

use crate::errors::Errors;
use crate::model::{
    ArenaDecl, Declaration, Entry, Form, KEYS, PoolDecl, PoolList, Preset, Section, Spanned,
    SyncMode, Validate, Value,
};

mod kw {
    syn::custom_keyword!(x);
    syn::custom_keyword!(align);
}

/// Parses the macro input. `None` when not even `struct Name` could be read.
pub fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<Declaration> {
    let parser = |input: ParseStream| Ok(declaration(input, errors));
    match parser.parse2(tokens) {
        Ok(declaration) => declaration,
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

fn known_keys() -> String {
    KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

fn declaration(input: ParseStream, errors: &mut Errors) -> Option<Declaration> {
    let header = (|| -> syn::Result<_> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let form = if input.peek(Token![static]) {
            input.parse::<Token![static]>()?;
            let value: Ident = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "expected the heap static's name"))?;
            if !input.peek(Token![:]) {
                return Err(input.error(
                    "expected `:` and the heap's type: `static HEAP: Name<pools: [16 x 64]>;`",
                ));
            }
            input.parse::<Token![:]>()?;
            Form::Static { value }
        } else if input.peek(Token![struct]) {
            input.parse::<Token![struct]>()?;
            Form::Struct
        } else {
            return Err(input.error(
                "expected `struct` or `static`: detalloc! { pub struct Name<pools: [16 x 64]>; } \
                 or detalloc! { pub static HEAP: Name<pools: [16 x 64]>; }",
            ));
        };
        let ident: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected the heap's type name"))?;
        Ok((attrs, vis, form, ident))
    })();
    let (attrs, vis, form, ident) = match header {
        Ok(header) => header,
        Err(error) => {
            errors.push(error);
            skip_rest(input);
            return None;
        }
    };
    // The last token read so far, for an error about what should follow it.
    let (entries, last) =
        if input.peek(Token![<]) { keys(input, errors) } else { (Vec::new(), Some(ident.span())) };
    if input.peek(Token![where]) {
        errors.at(input.span(), "where-clauses are not supported: a heap has no type parameters");
        skip_until_semicolon(input);
    }
    if input.peek(Token![;]) {
        let _ = input.parse::<Token![;]>();
    } else if !input.is_empty() {
        errors.at(input.span(), "expected `;` after the heap declaration");
        skip_until_semicolon(input);
        let _ = input.parse::<Token![;]>();
    } else if let Some(last) = last {
        // Nothing follows: point at the last token, the one the `;` belongs after.
        errors.at(last, "expected `;` after this: `detalloc! { struct Name<...>; }`");
    }
    // else: an unclosed `<` already has its error; the missing `;` is the same mistake.
    if !input.is_empty() {
        errors.at(
            input.span(),
            "unexpected tokens after the heap declaration: declare one heap per `detalloc!`",
        );
        skip_rest(input);
    }
    Some(Declaration { attrs, vis, form, ident, entries })
}

/// `< key: value, ... >`, and the span of the closing `>` (`None` when it is missing, which
/// is reported here).
fn keys(input: ParseStream, errors: &mut Errors) -> (Vec<Entry>, Option<Span>) {
    let open = input.span();
    let _ = input.parse::<Token![<]>();
    let mut entries = Vec::new();
    let close = loop {
        if input.peek(Token![>]) {
            let close = input.span();
            let _ = input.parse::<Token![>]>();
            break Some(close);
        }
        if input.is_empty() || input.peek(Token![;]) {
            errors.at(open, "unclosed `<`: expected `>` after the keys");
            break None;
        }
        if input.peek(syn::Lifetime) || input.peek(Token![const]) {
            errors.at(input.span(), "generics are not supported: a heap's parameters are keys such as `pools: [16 x 64]`");
            skip_entry(input);
        } else if let Some(entry) = entry(input, errors) {
            entries.push(entry);
        }
        if input.peek(Token![,]) {
            let _ = input.parse::<Token![,]>();
        } else if !(input.peek(Token![>]) || input.is_empty() || input.peek(Token![;])) {
            errors.at(input.span(), "expected `,` or `>` after a value");
            skip_entry(input);
            let _ = input.parse::<Option<Token![,]>>();
        }
    };
    (entries, close)
}

/// `key: value`; on error, reports and skips to the next entry.
fn entry(input: ParseStream, errors: &mut Errors) -> Option<Entry> {
    let key = match Ident::parse_any(input) {
        Ok(key) => key,
        Err(_) => {
            errors.at(input.span(), format!("expected a key: one of {}", known_keys()));
            skip_entry(input);
            return None;
        }
    };
    let name = key.to_string();
    if !input.peek(Token![:]) {
        if KEYS.contains(&name.as_str()) {
            errors.at(key.span(), format!("expected `:` after `{name}`"));
        } else {
            errors.at(
                key.span(),
                format!(
                    "generics are not supported: expected `key: value` with a key among {}",
                    known_keys()
                ),
            );
        }
        skip_entry(input);
        return None;
    }
    let _ = input.parse::<Token![:]>();
    let value = match name.as_str() {
        "pools" => pool_list(input, errors).map(|list| list.map_or(Value::Invalid, Value::Pools)),
        "preset" => choice(input, "preset", Preset::NAMES, Preset::from_name).map(Value::Preset),
        "sync" => choice(input, "sync", SyncMode::NAMES, SyncMode::from_name).map(Value::Sync),
        "stats" => boolean(input, "stats").map(Value::Stats),
        "spill" => boolean(input, "spill").map(Value::Spill),
        "validate" => validate(input, "validate").map(Value::Validate),
        "poison" => validate(input, "poison").map(Value::Poison),
        "arena" => arena(input).map(Value::Arena),
        "wcet" => clock_or_hooks(
            input,
            "wcet",
            "a type implementing `detalloc::Clock`, e.g. `detalloc::clock::Tsc`",
        )
        .map(Value::Wcet),
        "hooks" => clock_or_hooks(input, "hooks", "a type implementing `detalloc::Hooks`")
            .map(Value::Hooks),
        "budget" => budget(input).map(Value::Budget),
        "align" => plain_integer(input, "align").map(Value::Align),
        "waiters" => plain_integer(input, "waiters").map(Value::Waiters),
        _ => Err(syn::Error::new(
            key.span(),
            format!("unknown key `{name}`: expected one of {}", known_keys()),
        )),
    };
    match value {
        Ok(value) => Some(Entry { key, value }),
        Err(error) => {
            errors.push(error);
            skip_entry(input);
            Some(Entry { key, value: Value::Invalid })
        }
    }
}

/// `[S x N, ...]`, each item `16 x 64` or `16x64`, trailing comma allowed. `None` when every
/// item was unreadable (each already reported): the list is not empty, just wrong, and an
/// "empty list" error on top would be a second error for the same mistake.
fn pool_list(input: ParseStream, errors: &mut Errors) -> syn::Result<Option<PoolList>> {
    if !input.peek(syn::token::Bracket) {
        return Err(
            input.error("expected a pool list: `[16 x 64, 64 x 32]` (BLOCK_SIZE x BLOCK_COUNT)")
        );
    }
    let content;
    let bracket = syn::bracketed!(content in input);
    let mut pools = Vec::new();
    let mut unreadable = false;
    while !content.is_empty() {
        match pool(&content) {
            Ok(pool) => pools.push(pool),
            Err(error) => {
                unreadable = true;
                errors.push(error);
                skip_pool(&content);
            }
        }
        if content.peek(Token![,]) {
            let _ = content.parse::<Token![,]>();
        } else if !content.is_empty() {
            errors.at(content.span(), "expected `,` between pools");
            skip_pool(&content);
            let _ = content.parse::<Option<Token![,]>>();
        }
    }
    if pools.is_empty() && unreadable {
        return Ok(None);
    }
    Ok(Some(PoolList { pools, span: bracket.span.join() }))
}

const POOL_FORM: &str = "expected a pool `BLOCK_SIZE x BLOCK_COUNT`, e.g. `16 x 64` or `16x64`";

fn pool(input: ParseStream) -> syn::Result<PoolDecl> {
    let size: LitInt = input.parse().map_err(|e| syn::Error::new(e.span(), POOL_FORM))?;
    let suffix = size.suffix();
    if !suffix.is_empty() {
        let count = suffix
            .strip_prefix('x')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            .filter(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '_'))
            .ok_or_else(|| {
                syn::Error::new(size.span(), format!("{POOL_FORM}; found the suffix `{suffix}`"))
            })?;
        let count = count
            .replace('_', "")
            .parse::<u64>()
            .map_err(|_| syn::Error::new(size.span(), "block count does not fit in 64 bits"))?;
        let value = size
            .base10_digits()
            .parse::<u64>()
            .map_err(|_| syn::Error::new(size.span(), "block size does not fit in 64 bits"))?;
        let span = size.span();
        return Ok(PoolDecl {
            size: Spanned { value, span },
            count: Spanned { value: count, span },
            span,
            sections: sections(input)?,
        });
    }
    let size_value = size
        .base10_parse::<u64>()
        .map_err(|_| syn::Error::new(size.span(), "block size does not fit in 64 bits"))?;
    if !input.peek(kw::x) {
        return Err(input.error("expected `x` between block size and block count: `16 x 64`"));
    }
    let _ = input.parse::<kw::x>();
    let count: LitInt = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected the block count after `x`"))?;
    let count_value = unsuffixed(&count, "block count")?;
    let span = size.span().join(count.span()).unwrap_or_else(|| size.span());
    Ok(PoolDecl {
        size: Spanned { value: size_value, span: size.span() },
        count: Spanned { value: count_value, span: count.span() },
        span,
        sections: sections(input)?,
    })
}

/// Each `in unsafe("SECTION")` after a pool, or `in "SECTION"` without the promise (`check`
/// decides how many may be there, and refuses a missing `unsafe`).
fn sections(input: ParseStream) -> syn::Result<Vec<Section>> {
    const EXPECTED: &str = "expected the linker section after `in`, as `in unsafe(\".dtcm\")`";
    let mut sections = Vec::new();
    while input.peek(Token![in]) {
        let at = input.parse::<Token![in]>()?.span;
        let promised = input.peek(Token![unsafe]);
        let name: syn::LitStr = if promised {
            let _ = input.parse::<Token![unsafe]>()?;
            let inner;
            syn::parenthesized!(inner in input);
            let name = inner.parse().map_err(|e| syn::Error::new(e.span(), EXPECTED))?;
            if !inner.is_empty() {
                return Err(inner.error("expected only the section name inside `unsafe(..)`"));
            }
            name
        } else {
            input.parse().map_err(|e| syn::Error::new(e.span(), EXPECTED))?
        };
        sections.push(Section {
            at,
            name: Spanned { value: name.value(), span: name.span() },
            promised,
        });
    }
    Ok(sections)
}

/// A plain integer; `what` names it in the overflow error.
fn unsuffixed(lit: &LitInt, what: &str) -> syn::Result<u64> {
    if !lit.suffix().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("unexpected suffix `{}`: write a plain integer", lit.suffix()),
        ));
    }
    lit.base10_parse::<u64>()
        .map_err(|_| syn::Error::new(lit.span(), format!("{what} does not fit in 64 bits")))
}

fn plain_integer(input: ParseStream, key: &str) -> syn::Result<Spanned<u64>> {
    let lit: LitInt = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), format!("expected an integer for `{key}`")))?;
    Ok(Spanned { value: unsuffixed(&lit, &format!("`{key}`"))?, span: lit.span() })
}

fn choice<T>(
    input: ParseStream,
    key: &str,
    names: &[&str],
    from_name: fn(&str) -> Option<T>,
) -> syn::Result<Spanned<T>> {
    let allowed = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let ident = Ident::parse_any(input).map_err(|e| {
        syn::Error::new(e.span(), format!("expected a value for `{key}`: one of {allowed}"))
    })?;
    let value = from_name(&ident.to_string()).ok_or_else(|| {
        syn::Error::new(ident.span(), format!("unknown {key} `{ident}`: expected one of {allowed}"))
    })?;
    Ok(Spanned { value, span: ident.span() })
}

fn boolean(input: ParseStream, key: &str) -> syn::Result<Spanned<bool>> {
    let lit: LitBool = input.parse().map_err(|e| {
        syn::Error::new(e.span(), format!("expected `true` or `false` for `{key}`"))
    })?;
    Ok(Spanned { value: lit.value, span: lit.span })
}

fn validate(input: ParseStream, key: &str) -> syn::Result<Spanned<Validate>> {
    let allowed = format!("expected `debug`, `true` or `false` for `{key}`");
    if input.peek(LitBool) {
        let lit: LitBool = input.parse()?;
        let value = if lit.value { Validate::On } else { Validate::Off };
        return Ok(Spanned { value, span: lit.span });
    }
    let ident = Ident::parse_any(input).map_err(|e| syn::Error::new(e.span(), allowed.clone()))?;
    if ident != "debug" {
        return Err(syn::Error::new(ident.span(), format!("unknown {key} `{ident}`: {allowed}")));
    }
    Ok(Spanned { value: Validate::Debug, span: ident.span() })
}

fn clock_or_hooks(input: ParseStream, key: &str, what: &str) -> syn::Result<Box<Type>> {
    let ty: Type = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), format!("expected {what} for `{key}`")))?;
    Ok(Box::new(ty))
}

/// `8192`, `8 KiB`, `8KiB`, `1 MiB`, `64 B`.
fn budget(input: ParseStream) -> syn::Result<Spanned<u64>> {
    byte_count(input, "budget", "expected a byte count for `budget`, e.g. `8 KiB` or `8192`", true)
}

/// `arena: SIZE [align A] [in unsafe("SECTION")]`, SIZE as for `budget` (`64 KiB`, `4096`).
fn arena(input: ParseStream) -> syn::Result<ArenaDecl> {
    let size = byte_count(
        input,
        "arena",
        "expected the arena's size in bytes, e.g. `arena: 64 KiB` or `arena: 4096`",
        false,
    )?;
    let align = if input.peek(kw::align) {
        input.parse::<kw::align>()?;
        Some(plain_integer(input, "align")?)
    } else {
        None
    };
    let sections = sections(input)?;
    if !(input.is_empty() || input.peek(Token![,]) || input.peek(Token![>])) {
        return Err(input.error(
            "expected `align A`, `in unsafe(\"SECTION\")` or `,` after the arena's size: \
             `arena: 64 KiB align 64 in unsafe(\".sram2\")`",
        ));
    }
    Ok(ArenaDecl { size, align, sections })
}

/// A byte count with an optional unit (`B`, `KiB`, `MiB`, as a suffix or a word). With
/// `any_word`, any word after the number is read as its unit (and must be one); without, only
/// those three are (another word is left for the caller).
fn byte_count(
    input: ParseStream,
    key: &str,
    expected: &str,
    any_word: bool,
) -> syn::Result<Spanned<u64>> {
    const UNITS: [&str; 3] = ["B", "KiB", "MiB"];
    let units = format!("expected bytes, `KiB` or `MiB` after the {key}, e.g. `{key}: 8 KiB`");
    let lit: LitInt = input.parse().map_err(|e| syn::Error::new(e.span(), expected))?;
    let mut span = lit.span();
    let is_unit = |input: ParseStream| {
        input.fork().call(Ident::parse_any).is_ok_and(|unit| UNITS.contains(&&*unit.to_string()))
    };
    let unit = if !lit.suffix().is_empty() {
        lit.suffix().to_owned()
    } else if input.peek(Ident) && !input.peek(Token![,]) && (any_word || is_unit(input)) {
        let unit = Ident::parse_any(input)?;
        span = span.join(unit.span()).unwrap_or(span);
        if !UNITS.contains(&&*unit.to_string()) {
            return Err(syn::Error::new(unit.span(), units));
        }
        unit.to_string()
    } else {
        String::from("B")
    };
    let factor: u64 = match unit.as_str() {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => return Err(syn::Error::new(lit.span(), units)),
    };
    let value = lit
        .base10_digits()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| syn::Error::new(span, format!("{key} does not fit in 64 bits")))?;
    Ok(Spanned { value, span })
}

/// Skips to the next `,` or `>` outside angle brackets (not consuming it).
fn skip_entry(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        let mut depth = 0usize;
        while let Some((tt, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' | ';' if depth == 0 => break,
                    '>' if depth == 0 => break,
                    '>' => depth -= 1,
                    '<' => depth += 1,
                    _ => {}
                }
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Inside a pool list: skips to the next `,` (not consuming it). Unlike [`skip_entry`] it does
/// not stop at `;` or `>`, which cannot end the bracketed list: stopping there would leave the
/// list's loop at the same token forever (`[64; 16]`).
fn skip_pool(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

fn skip_until_semicolon(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

fn skip_rest(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    });
}
