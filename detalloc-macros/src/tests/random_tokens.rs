//! (a) Random token sequences: the macro never panics or hangs.

use super::*;

// ---------------------------------------------------------------------------------------------
// (a) Random token sequences

const IDENTS: &[&str] = &[
    "pools",
    "preset",
    "sync",
    "stats",
    "validate",
    "wcet",
    "hooks",
    "budget",
    "align",
    "spill",
    "x",
    "struct",
    "pub",
    "crate",
    "in",
    "where",
    "const",
    "self",
    "Self",
    "super",
    "spin",
    "local",
    "lock_free",
    "critical_section",
    "true",
    "false",
    "debug",
    "KiB",
    "MiB",
    "B",
    "GiB",
    "audio",
    "networking",
    "embedded",
    "H",
    "T",
    "colour",
    "_",
    "detalloc",
    "Tsc",
];

const PUNCTS: &[char] =
    &['<', '>', '<', '>', ',', ',', ':', ':', ';', '#', '!', '=', '*', '-', '&', '\'', '.', '|'];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "3",
    "4",
    "16",
    "64",
    "4096",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "16x64",
    "16x0",
    "0x10",
    "0x10x8",
    "0xffffffffffffffffx2",
    "1_024",
    "0b101",
    "0o17",
    "16y64",
    "16x",
    "16x64u8",
    "4u8",
    "8KiB",
    "8MiB",
    "16x99999999999999999999999",
    "1.5",
    "1e3",
    "2.0f32",
    "\"str\"",
    "'c'",
    "b\"b\"",
    "-1",
];

/// A random token sequence; groups nest up to `depth` 3.
fn soup(rng: &mut Rng, depth: usize, len: usize) -> TokenStream {
    let mut out = TokenStream::new();
    for _ in 0..len {
        match rng.below(100) {
            0..=34 => {
                let name = *rng.pick(IDENTS);
                out.extend([TokenTree::Ident(Ident::new(name, Span::call_site()))]);
            }
            35..=64 => {
                let ch = *rng.pick(PUNCTS);
                let spacing = if rng.chance(30) { Spacing::Joint } else { Spacing::Alone };
                out.extend([TokenTree::Punct(Punct::new(ch, spacing))]);
                if ch == '\'' && spacing == Spacing::Joint {
                    out.extend([TokenTree::Ident(Ident::new("a", Span::call_site()))]);
                }
            }
            65..=84 => out.extend(tokens(rng.pick::<&str>(LITERALS))),
            _ if depth < 3 => {
                let delimiter = *rng.pick(&[
                    Delimiter::Bracket,
                    Delimiter::Bracket,
                    Delimiter::Parenthesis,
                    Delimiter::Brace,
                    Delimiter::None,
                ]);
                let inner_len = rng.below(7);
                let inner = soup(rng, depth + 1, inner_len);
                out.extend([TokenTree::Group(Group::new(delimiter, inner))]);
            }
            _ => out.extend(tokens("[]")),
        }
    }
    out
}

#[test]
fn random_tokens_never_panic_or_hang() {
    with_watchdog("random tokens", Duration::from_secs(30), |current| {
        let mut rng = Rng::new(0x5eed_0001);
        for _ in 0..20_000 {
            // Often a plausible start, so the random part reaches the keys and the pool list.
            let mut input = match rng.below(4) {
                0 => TokenStream::new(),
                1 => tokens("pub struct H"),
                2 => tokens("struct H <"),
                _ => tokens("struct H < pools :"),
            };
            let len = rng.below(16);
            input.extend(soup(&mut rng, 0, len));
            if rng.chance(30) {
                input.extend(tokens("> ;"));
            }
            expand(&input, current);
        }
    });
}
