//! The static form: `static NAME: Type<...>;` declares the type and its one value, each
//! pool's buffer a static of its own, placed with `in "SECTION"`.

use std::alloc::Layout;

use detalloc::{Heap, PoolSpec, detalloc};

detalloc! {
    /// Pools in sections of their own; the large one is 16 MiB.
    pub static PLACED: PlacedHeap<
        pools: [16 x 64, 1024 x 8 in unsafe(".bss.detalloc.fast"), 65536 x 256 in unsafe(".bss.detalloc.big")],
        sync: spin,
        validate: true,
    >;
}

detalloc! { static SMALL: SmallStatic<pools: [16 x 64, 1024 x 8], sync: spin>; }
detalloc! { struct SmallStruct<pools: [16 x 64, 1024 x 8], sync: spin>; }

#[test]
fn constants_name_each_pools_section() {
    assert_eq!(
        PlacedHeap::POOLS,
        &[PoolSpec::new(16, 64), PoolSpec::new(1024, 8), PoolSpec::new(65536, 256)]
    );
    assert_eq!(PlacedHeap::SECTIONS, [None, Some(".bss.detalloc.fast"), Some(".bss.detalloc.big")]);
    assert_eq!(SmallStruct::SECTIONS, [None, None]);
    let metadata = size_of::<PlacedHeap>();
    assert_eq!(
        PlacedHeap::SUMMARY,
        format!(
            "PlacedHeap: 3 pools [16 x 64, 1024 x 8 in .bss.detalloc.fast, 65536 x 256 in \
             .bss.detalloc.big], 16786432 B of blocks + {metadata} B metadata, sync=spin \
             stats=on validate=on"
        )
    );
}

/// In the struct form the buffers are fields: the struct is aligned to its largest block and
/// its size padded to a multiple of it, and the padding counts as metadata. In the static
/// form the type holds only the pool states: no padding.
#[test]
fn the_static_form_counts_no_alignment_padding() {
    let static_metadata = size_of::<SmallStatic>();
    let struct_metadata = size_of::<SmallStruct>() - SmallStruct::TOTAL_BYTES;
    assert!(SmallStatic::SUMMARY.contains(&format!("+ {static_metadata} B metadata")));
    assert!(SmallStruct::SUMMARY.contains(&format!("+ {struct_metadata} B metadata")));
    assert_eq!(align_of::<SmallStruct>(), 1024);
    assert!(align_of::<SmallStatic>() <= 8, "the states' alignment, not the blocks'");
    assert!(static_metadata < struct_metadata, "{static_metadata} vs {struct_metadata}");
    assert_eq!(struct_metadata % 1024, 0, "padded up to the 1024-byte blocks' alignment");
}

detalloc! { static UNEVEN: UnevenStatic<pools: [16 x 3, 256 x 1], sync: spin>; }
detalloc! { struct UnevenStruct<pools: [16 x 3, 256 x 1], sync: spin>; }

/// The struct form pays no more than the alignment padding: its size is its states' (the
/// static form's type holds exactly those) plus the buffers, rounded up to the largest block
/// alignment, whether or not the buffers' total (304 B here) is a multiple of it.
#[test]
fn the_struct_form_pads_once() {
    for (size, states, blocks) in [
        (size_of::<UnevenStruct>(), size_of::<UnevenStatic>(), UnevenStruct::TOTAL_BYTES),
        (size_of::<SmallStruct>(), size_of::<SmallStatic>(), SmallStruct::TOTAL_BYTES),
    ] {
        let align = if blocks == 304 { 256 } else { 1024 };
        assert_eq!(size, (states + blocks).next_multiple_of(align), "{states} + {blocks}");
    }
    let _ = &UNEVEN;
}

#[test]
fn blocks_come_from_their_pools_and_go_back() {
    let mut held = Vec::new();
    for spec in PlacedHeap::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).unwrap();
        for _ in 0..spec.blocks {
            let block = PLACED.allocate(layout).unwrap();
            assert_eq!(block.as_ptr() as usize % spec.align, 0);
            held.push((block, layout));
        }
        assert!(PLACED.allocate(layout).is_err(), "exhausted at its capacity");
    }
    let mut addresses: Vec<usize> = held.iter().map(|(b, _)| b.as_ptr() as usize).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), held.len(), "no block handed out twice");
    for (block, layout) in held {
        // SAFETY: each block came from `PLACED.allocate(layout)` and is freed once.
        unsafe { PLACED.deallocate(block, layout) }.unwrap();
    }
    PLACED.validate().unwrap();
    assert_eq!(PLACED.stats().in_use_bytes, 0);
}

/// The 16 MiB pool is in a `.bss.*` section: zero-initialised, no bytes in the file.
#[test]
#[cfg_attr(miri, ignore = "reads the test's own executable")]
fn a_16_mib_pool_adds_nothing_to_the_file() {
    const { assert!(PlacedHeap::TOTAL_BYTES > 16 << 20) };
    let exe = std::env::current_exe().unwrap();
    let size = std::fs::metadata(&exe).unwrap().len();
    assert!(size < 16 << 20, "{} is {size} B", exe.display());
}
