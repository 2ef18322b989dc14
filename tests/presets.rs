//! The preset tables of `detalloc!`'s reference (`detalloc/docs/macro.md`) are the presets the macro expands: every row (block size,
//! blocks, align, bytes) and the total, for every preset.

use detalloc::{PoolSpec, detalloc};

detalloc! { struct Audio<preset: audio>; }
detalloc! { struct Robotics<preset: robotics>; }
detalloc! { struct Networking<preset: networking>; }
detalloc! { struct Embedded<preset: embedded>; }

/// The rows of the reference's table under `**`name`**`, as `(size, blocks, align, bytes)`, and
/// the total.
fn reference_table(name: &str) -> (Vec<[usize; 4]>, usize) {
    let reference = include_str!("../detalloc/docs/macro.md");
    let section = &reference[reference.find("# Presets").expect("a Presets section")..];
    let start = section.find(&format!("**`{name}`**")).expect("the preset's heading");
    let number = |cell: &str| -> usize {
        cell.trim()
            .trim_matches('*')
            .split('(')
            .next()
            .unwrap_or("")
            .replace(' ', "")
            .parse()
            .unwrap_or(0)
    };
    let mut rows = Vec::new();
    for line in section[start..].lines().skip(1) {
        if line.starts_with("| **total**") {
            let total = number(line.rsplit('|').nth(1).unwrap_or(""));
            return (rows, total);
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 6 && cells[1].chars().all(|c| c.is_ascii_digit()) && !cells[1].is_empty()
        {
            rows.push([number(cells[1]), number(cells[2]), number(cells[3]), number(cells[4])]);
        }
    }
    panic!("no total row for {name}");
}

fn check(name: &str, pools: &[PoolSpec], total: usize) {
    let (rows, reference_total) = reference_table(name);
    let expanded: Vec<[usize; 4]> =
        pools.iter().map(|p| [p.block_size, p.blocks, p.align, p.bytes()]).collect();
    assert_eq!(rows, expanded, "reference table of `{name}`");
    assert_eq!(reference_total, total, "reference total of `{name}`");
}

#[test]
fn reference_preset_tables_match_the_macro() {
    check("audio", Audio::POOLS, Audio::TOTAL_BYTES);
    check("robotics", Robotics::POOLS, Robotics::TOTAL_BYTES);
    check("networking", Networking::POOLS, Networking::TOTAL_BYTES);
    check("embedded", Embedded::POOLS, Embedded::TOTAL_BYTES);
}
