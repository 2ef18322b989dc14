//! Each core's MPU: the statics that both cores update with exclusive accesses (both heaps,
//! their instrumentation, the barrier and the critical-section lock) become Shareable memory.
//!
//! Why: `sync: lock_free` pops and pushes with LDREX..STREX, and `sync: spin`, the barriers and
//! the critical section use atomic read-modify-writes, which on the M33 are LDREX..STREX loops
//! too. A STREX fails after another core's store to the location only if a monitor that sees
//! that store takes part. The M33's local monitor tags no address and sees no other core's
//! store (Cortex-M33 TRM 100230, C.9); the M33 marks its exclusive accesses on the bus (AHB5
//! HEXCL), where a global exclusive monitor can track them, only for memory marked Shareable
//! or with ACTLR.EXTEXCLALL set (Arm knowledge article 141718063). The default memory map does
//! not make RAM Shareable (Armv7-M lists SRAM and RAM as Normal Non-shareable, Arm DUI 0646C
//! table 2.12; on the dual-M33 RP2350, atomics between the cores failed until the HALs set
//! EXTEXCLALL: rp-rs/rp-hal#897 and #898, embassy-rs/embassy#3851), so without this module the
//! exclusives stay local and two cores could both complete a pop of the same head.
//!
//! What this module does, on each core before it touches a shared static: MPU region 0 over
//! `.data`, `.bss` and `.uninit` (cortex-m-rt's `__sdata` to `_stack_end`, in 32-byte granules:
//! every static of the program, core 0's stack above them left out) as Normal memory, Outer
//! and Inner write-back read/write-allocate (MAIR attribute 0xff), Inner Shareable (RBAR.SH =
//! 0b11), read-write at any privilege, execute-never; then MPU_CTRL = ENABLE | PRIVDEFENA, so
//! everything outside the region keeps the default map (for privileged code: both cores run
//! privileged). The region is wider than the two heap statics because the barrier, the
//! critical section, the arenas' claims and the SysTick counters rely on exclusives across the
//! cores as well. Inner rather than Outer Shareable: the two cores of one SSE-200 form one
//! inner shareability domain and no other observer takes part in these exclusives; the article
//! above does not distinguish the two for HEXCL. Write-back is harmless here: an SSE-200 CPU
//! element caches only instruction fetches from 0x0000_0000..0x1FFF_FFFF (SSE-200 TRM 101104,
//! 2.4.3); on a part with a data cache in front of shared RAM, the data needs coherent caches
//! or a non-cacheable attribute (a Cortex-M7 does not cache Shared memory: DDI 0489F, 5.9).
//!
//! What QEMU shows and what it does not: QEMU 7.2 models each core's v8-M MPU registers (they
//! read back as written, checked below) and faults what a region's AP/XN or a missing
//! background map forbids, so a clean run proves the sequence leaves every access of this
//! firmware allowed. It models neither memory attributes nor monitors: an M-profile region
//! contributes only its AP and XN (`target/arm/ptw.c`), and STREX is a compare-and-swap against
//! the value LDREX read, with no local or global monitor per core. That a global monitor serves
//! these exclusives can be shown only on silicon whose SoC documents one for this memory (not
//! verified for the SSE-200, nor for the AN521 image's PSRAM at 0x8000_0000 that holds them).

use core::fmt;
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::MPU;

/// The region this module programs.
const REGION: u32 = 0;
/// MAIR attribute 0: Normal memory, Outer and Inner Write-Back non-transient, read-allocate and
/// write-allocate (Attr[7:4] outer = 0b1111, Attr[3:0] inner = 0b1111).
const ATTR_NORMAL_WB_RWA: u32 = 0xff;
/// The attribute index the region uses (RLAR.AttrIndx) and so the byte of MAIR0 it reads.
const ATTR_INDEX: u32 = 0;
/// RBAR.SH, bits [4:3]: 0b00 Non-shareable, 0b10 Outer Shareable, 0b11 Inner Shareable.
const SH_INNER: u32 = 0b11;
/// RBAR.AP, bits [2:1]: 0b01 = read-write at any privilege level (as the default map).
const AP_RW_ANY: u32 = 0b01;
/// RBAR.XN, bit 0: no instruction fetch from the statics.
const XN: u32 = 1;
/// RLAR.EN, bit 0.
const RLAR_EN: u32 = 1;
/// MPU_CTRL.ENABLE, bit 0.
const CTRL_ENABLE: u32 = 1 << 0;
/// MPU_CTRL.HFNMIENA, bit 1: left clear (HardFault and NMI handlers use the default map).
const CTRL_HFNMIENA: u32 = 1 << 1;
/// MPU_CTRL.PRIVDEFENA, bit 2: the default map is the background for privileged accesses.
const CTRL_PRIVDEFENA: u32 = 1 << 2;
/// RBAR.BASE / RLAR.LIMIT: address bits [31:5].
const ADDRESS: u32 = !0x1f;

unsafe extern "C" {
    /// cortex-m-rt: the start of `.data`, the first section in RAM.
    static __sdata: u8;
    /// cortex-m-rt: the end of `.bss` / `.uninit`, where core 0's stack may end.
    static _stack_end: u8;
}

/// The region's first byte and last 32-byte granule: every static of the program.
fn statics_region() -> (u32, u32) {
    let start = (&raw const __sdata) as u32;
    let end = (&raw const _stack_end) as u32; // exclusive, > start: the statics are not empty
    (start & ADDRESS, (end - 1) & ADDRESS)
}

/// This core's MPU registers as read back after [`share_statics`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Readback {
    pub mpu_type: u32,
    pub ctrl: u32,
    pub mair0: u32,
    pub rbar: u32,
    pub rlar: u32,
}

/// Programs and enables this core's MPU (region 0 over the statics, Normal write-back, Inner
/// Shareable; PRIVDEFENA), then reads its registers back. Call once per core, first thing,
/// before the core makes an exclusive access to a static the other core uses.
pub fn share_statics() -> Readback {
    let (base, limit) = statics_region();
    let rbar = base | SH_INNER << 3 | AP_RW_ANY << 1 | XN;
    let rlar = limit | ATTR_INDEX << 1 | RLAR_EN;
    // SAFETY: `MPU::PTR` is the architected MPU register block (0xE000_ED90) of the core that
    // runs this code; in Secure state, as both cores run here, it is the Secure MPU, which
    // governs every access this firmware makes. Nothing else in the program touches the MPU.
    // The sequence: complete earlier accesses (DSB), disable the MPU (it is off after reset;
    // this makes a second call safe too), set MAIR0's attribute 0 (the other attributes are
    // kept), select region 0 and write its base and limit, then enable the MPU with PRIVDEFENA
    // and complete the write (DSB) before any later access or instruction fetch (ISB). With the
    // MPU on, privileged accesses outside region 0 use the default map as before, and region
    // 0 allows reads and writes at any privilege: no access of the program becomes faulting.
    // The statics keep their contents under the new attributes: no data cache holds them
    // (the SSE-200 caches instruction fetches from the code region only).
    unsafe {
        let mpu = &*MPU::PTR;
        assert!(mpu._type.read() >> 8 & 0xff > REGION, "the MPU has region {REGION}");
        cortex_m::asm::dsb();
        mpu.ctrl.write(0);
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
        let mair0 = mpu.mair[0].read();
        let shift = 8 * ATTR_INDEX;
        mpu.mair[0].write(mair0 & !(0xff << shift) | ATTR_NORMAL_WB_RWA << shift);
        mpu.rnr.write(REGION);
        mpu.rbar.write(rbar);
        mpu.rlar.write(rlar);
        mpu.ctrl.write(CTRL_ENABLE | CTRL_PRIVDEFENA);
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
    }
    // Read back (RNR still selects region 0; only this code writes it).
    let mpu = MPU::PTR;
    // SAFETY: as above; reads of these registers have no side effect.
    unsafe {
        Readback {
            mpu_type: (*mpu)._type.read(),
            ctrl: (*mpu).ctrl.read(),
            mair0: (*mpu).mair[0].read(),
            rbar: (*mpu).rbar.read(),
            rlar: (*mpu).rlar.read(),
        }
    }
}

/// A static that both cores use: a name and its address range.
pub struct Shared {
    pub name: &'static str,
    pub start: usize,
    pub size: usize,
}

impl Shared {
    pub fn of<T: ?Sized>(name: &'static str, value: &T) -> Shared {
        Shared { name, start: ptr::from_ref(value).cast::<u8>() as usize, size: size_of_val(value) }
    }
}

impl Readback {
    /// The region's first and last byte, from RBAR and RLAR.
    pub fn range(&self) -> (u32, u32) {
        (self.rbar & ADDRESS, self.rlar | !ADDRESS)
    }

    /// Panics unless the registers say: region 0 enabled, Normal write-back read/write-allocate,
    /// Inner Shareable, MPU on with PRIVDEFENA, HFNMIENA clear; the region the statics' span;
    /// and every one of `shared` inside it.
    pub fn check(&self, core: u32, shared: &[Shared]) {
        let shift = 8 * (self.rlar >> 1 & 0b111);
        let ctrl = self.ctrl & (CTRL_ENABLE | CTRL_HFNMIENA | CTRL_PRIVDEFENA);
        assert_eq!(ctrl, CTRL_ENABLE | CTRL_PRIVDEFENA, "core {core}: MPU_CTRL {:#x}", self.ctrl);
        assert_eq!(self.rlar & RLAR_EN, RLAR_EN, "core {core}: region {REGION} enabled");
        assert_eq!(self.mair0 >> shift & 0xff, ATTR_NORMAL_WB_RWA, "core {core}: attribute");
        assert_eq!(self.rbar >> 3 & 0b11, SH_INNER, "core {core}: RBAR.SH {:#x}", self.rbar);
        assert_eq!(self.rbar & 0b111, AP_RW_ANY << 1 | XN, "core {core}: RBAR.AP, XN");
        let (base, limit) = statics_region();
        assert_eq!(self.range(), (base, limit | !ADDRESS), "core {core}: region bounds");
        for s in shared {
            let (start, last) = (s.start as u32, (s.start + s.size - 1) as u32);
            assert!(base <= start && last <= (limit | !ADDRESS), "core {core}: {}", s.name);
        }
    }
}

/// The line for stdout, the same on every run: what [`Readback::check`] found.
impl fmt::Display for Readback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attr = self.mair0 >> (8 * (self.rlar >> 1 & 0b111)) & 0xff;
        write!(
            f,
            "heap state Shareable: MPU region {REGION} = the statics (heaps, arenas, barrier, \
             lock), Normal write-back (attr {attr:#04x}), SH {:#04b} Inner Shareable, XN; \
             MPU_CTRL ENABLE | PRIVDEFENA",
            self.rbar >> 3 & 0b11,
        )
    }
}

/// Core 1's readback, for core 0 to check and print: [type, ctrl, mair0, rbar, rlar].
static CORE1: [AtomicU32; 5] = [const { AtomicU32::new(0) }; 5];

/// Core 1: records its readback (published to core 0 by the next barrier).
pub fn publish(r: &Readback) {
    for (slot, value) in CORE1.iter().zip([r.mpu_type, r.ctrl, r.mair0, r.rbar, r.rlar]) {
        slot.store(value, Ordering::Relaxed);
    }
}

/// Core 0: core 1's readback, after a barrier that followed [`publish`].
pub fn core1() -> Readback {
    let [mpu_type, ctrl, mair0, rbar, rlar] = CORE1.each_ref().map(|v| v.load(Ordering::Relaxed));
    Readback { mpu_type, ctrl, mair0, rbar, rlar }
}
