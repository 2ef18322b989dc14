//! The preset pool tables (`preset: audio | robotics | networking | embedded`). The README
//! documents the same tables; a test keeps the two in step.

use proc_macro2::Span;

use crate::model::{PoolDecl, Preset, Spanned};

/// `(block size, block count)` per pool, ascending.
pub fn table(preset: Preset) -> &'static [(u64, u64)] {
    match preset {
        // Audio callbacks: event and message structs, then sample buffers of 128..512 frames.
        Preset::Audio => &[(32, 256), (128, 128), (512, 64), (2048, 16)],
        // Control loops: small messages and poses, state vectors, sensor frames.
        Preset::Robotics => &[(16, 512), (64, 256), (256, 128), (1024, 32)],
        // Packet paths: descriptors and headers, small packets, full 1500-byte MTU frames.
        Preset::Networking => &[(64, 512), (256, 256), (1536, 128)],
        // The smallest: a few hundred bytes for a small MCU.
        Preset::Embedded => &[(8, 32), (32, 16), (128, 4)],
    }
}

/// The preset's pools, every token spanned at the preset's name.
pub fn pools(preset: Preset, span: Span) -> Vec<PoolDecl> {
    table(preset)
        .iter()
        .map(|&(size, count)| PoolDecl {
            size: Spanned { value: size, span },
            count: Spanned { value: count, span },
            span,
            sections: Vec::new(),
        })
        .collect()
}
