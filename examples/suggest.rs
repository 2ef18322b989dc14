//! Sizing a heap from a recorded run, in one process. A small packet pipeline (receive
//! bursts, a flow table, per-flow reassembly, an event log, transmit batches, periodic
//! reports) runs with a `detalloc_suggest::Recorder<System>` as the global allocator. The
//! recording is then turned into the best pool lists for 3 and 4 pools, and into the fewest
//! pools that fit a 400 KiB budget. (`sizing_record` and `sizing_check` do the whole workflow
//! on a third-party workload: several recorded runs, then the suggested heap as the global
//! allocator.)
//!
//! Run: `cargo run -p detalloc-examples --example suggest`

use std::alloc::System;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, DefaultHasher};

use detalloc_suggest::{Options, Recorder, Recording, SuggestError, suggest};

/// Every allocation of the program goes through the recorder to `System`.
#[global_allocator]
static RECORDER: Recorder<System> = Recorder::new(System);

/// The budget of the last suggestion: what the target can spare for the heap.
const BUDGET: usize = 400 * 1024;

#[path = "shared/xorshift.rs"]
mod xorshift;

// A seeded generator, so every run allocates the same.
use xorshift::XorShift64Star as Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    src: u32,
    dst: u32,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
}

/// A parsed header, boxed as it leaves the receive ring (24 bytes).
struct Header {
    key: FlowKey,
    seq: u32,
    syn: bool,
    fin: bool,
}

struct Packet {
    header: Box<Header>,
    payload: Vec<u8>,
}

/// Per-flow state; the map's hasher is fixed so that its growth is the same every run.
struct Flow {
    label: String,
    packets: u64,
    bytes: u64,
    next_seq: u32,
    /// Out-of-order payload held back until the gap fills (grows by `realloc`).
    reassembly: Vec<u8>,
}

type FlowTable = HashMap<FlowKey, Flow, BuildHasherDefault<DefaultHasher>>;

/// One received packet: mostly small control segments, some mid-size, some full MSS.
fn receive(rng: &mut Rng, flows: u32) -> Packet {
    let flow = rng.below(flows as usize) as u32;
    let key = FlowKey {
        src: 0x0a00_0000 | flow,
        dst: 0xc0a8_0001,
        src_port: 40_000 + (flow % 1000) as u16,
        dst_port: [443, 80, 53, 8883][(flow % 4) as usize],
        protocol: if flow % 4 == 2 { 17 } else { 6 },
    };
    let len = match rng.below(100) {
        0..40 => 20 + rng.below(24), // ACKs, DNS queries
        40..70 => 64 + rng.below(192),
        70..90 => 576,
        _ => 1460,
    };
    let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31)).collect();
    let roll = rng.below(100);
    let seq = rng.next_u64() as u32 & 0xffff;
    let header = Box::new(Header { key, seq, syn: roll < 3, fin: roll >= 97 });
    Packet { header, payload }
}

fn process(packet: Packet, flows: &mut FlowTable, log: &mut VecDeque<String>) -> Option<Packet> {
    let key = packet.header.key;
    if packet.header.fin {
        if let Some(flow) = flows.remove(&key) {
            log.push_back(format!("close {} after {} packets", flow.label, flow.packets));
        }
        return None;
    }
    let flow = flows.entry(key).or_insert_with(|| Flow {
        label: format!("{:08x}:{} -> {:08x}:{}", key.src, key.src_port, key.dst, key.dst_port),
        packets: 0,
        bytes: 0,
        next_seq: packet.header.seq,
        reassembly: Vec::new(),
    });
    if packet.header.syn {
        log.push_back(format!("open {}", flow.label));
    }
    flow.packets += 1;
    flow.bytes += packet.payload.len() as u64;
    if packet.header.seq.is_multiple_of(61) && flow.reassembly.capacity() == 0 {
        // A segment ahead of the expected one: hold it in a reassembly buffer of 4 segments.
        flow.reassembly = Vec::with_capacity(4 * 1460);
    }
    if flow.reassembly.capacity() > 0 {
        if flow.reassembly.len() + packet.payload.len() <= flow.reassembly.capacity() {
            flow.reassembly.extend_from_slice(&packet.payload);
        }
        if packet.header.seq.is_multiple_of(5) {
            flow.reassembly = Vec::new(); // the gap filled: release the buffer
        }
    }
    flow.next_seq = packet.header.seq.wrapping_add(packet.payload.len() as u32);
    while log.len() > 64 {
        log.pop_front();
    }
    Some(packet)
}

/// The pipeline: 3000 ticks of receive, classify, transmit, with a report every 500.
fn run() -> (u64, usize) {
    let mut rng = Rng(0x00C0_FFEE_D00D_F00D);
    let mut rx: VecDeque<Packet> = VecDeque::with_capacity(64);
    let mut flows = FlowTable::with_capacity_and_hasher(128, Default::default());
    let mut log: VecDeque<String> = VecDeque::with_capacity(80);
    let mut sent = 0u64;
    let mut reports = 0usize;
    for tick in 0..3000u32 {
        let active = 40 + (tick / 100) % 80; // the number of live flows drifts
        for _ in 0..1 + rng.below(48) {
            if rx.len() < 64 {
                rx.push_back(receive(&mut rng, active));
            }
        }
        let mut batch: Vec<Packet> = Vec::with_capacity(32);
        while let Some(packet) = rx.pop_front() {
            if let Some(out) = process(packet, &mut flows, &mut log) {
                batch.push(out);
            }
            if batch.len() == 32 {
                sent += batch.drain(..).map(|p| p.payload.len() as u64).sum::<u64>();
            }
        }
        sent += batch.iter().map(|p| p.payload.len() as u64).sum::<u64>();
        if tick % 500 == 499 {
            let mut report = String::new();
            for flow in flows.values() {
                let _ = writeln!(report, "{} {} pkts {} B", flow.label, flow.packets, flow.bytes);
            }
            reports += report.len();
        }
    }
    // A capture of the last second for a debug dump: far above any pool's block size.
    let capture = vec![0u8; 128 * 1024];
    reports += capture.len();
    (sent, reports)
}

fn main() {
    let (sent, report_bytes) = run();
    // Everything since the process started, the runtime's start-up included: a heap that is
    // the global allocator serves that too.
    let recording: Recording = RECORDER.recording();
    let runs = std::slice::from_ref(&recording);

    println!("pipeline: {sent} payload bytes sent, {report_bytes} report bytes written");
    println!(
        "recorded: {} allocations, {} events, {} kinds (size, align), peak {} B live",
        recording.allocs(),
        recording.events(),
        recording.sizes().len(),
        recording.peak_live_bytes()
    );
    for pools in [3, 4] {
        println!("\n== best {pools}-pool heap ==");
        match suggest(runs, &Options::new(pools)) {
            Ok(suggestion) => print!("{suggestion}"),
            Err(error) => println!("no suggestion: {error}"),
        }
    }
    println!("\n== fewest pools within a {BUDGET} B budget ==");
    for pools in 2..=8 {
        match suggest(runs, &Options::new(pools).budget(BUDGET)) {
            Ok(suggestion) => {
                println!("{pools} pools: {}", suggestion.pools_line());
                break;
            }
            Err(SuggestError::OverBudget { needed, budget, .. }) => {
                println!("{pools} pools: {needed} B, {} B over the budget", needed - budget);
            }
            Err(error) => {
                println!("{pools} pools: {error}");
                break;
            }
        }
    }
}
