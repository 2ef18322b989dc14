//! The binary under audit: executable sections, function symbols, which memory the program
//! cannot write after start-up, and the words there that a call through memory may load its
//! target from.
//!
//! **Constant memory** is what no store of the program can change once it runs: allocated
//! sections without `SHF_WRITE` (`.text`, `.rodata`), and the `PT_GNU_RELRO` segment, which
//! the dynamic loader makes read-only after relocating it (`.data.rel.ro`, `.got`, and with
//! full RELRO (`-z now`) `.got.plt` too). A call or jump through a slot in constant memory is
//! resolved to the slot's value: its dynamic relocation (`R_X86_64_RELATIVE`, or a symbol's
//! address), else the bytes in the file. A slot anywhere else (`.data`, `.bss`, a lazily bound
//! `.got.plt`) may be rewritten at run time (a `static mut` hook, a table of function
//! pointers), so a call through it is an indirect call: unbounded.

use std::collections::{BTreeMap, HashMap};

use object::read::elf::ProgramHeader;
use object::{
    Architecture, Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, RelocationFlags,
    RelocationTarget, SectionFlags, SectionKind, SymbolKind, elf,
};

/// Instruction set of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// 32-bit ARM; functions are audited as Thumb-2 (ARMv7-M).
    Thumb,
    /// RV32 (RV32IMAC, compressed instructions included).
    Riscv32,
}

/// A function symbol.
#[derive(Debug, Clone)]
pub struct Function {
    /// Symbol name as in the binary (mangled).
    pub name: String,
    /// Entry address (Thumb bit cleared).
    pub addr: u64,
    /// Size in bytes (0 when the symbol has none).
    pub size: u64,
}

impl Function {
    /// The demangled name (hash suffix removed), or the symbol name.
    pub fn display_name(&self) -> String {
        demangle(&self.name)
    }
}

/// Demangles a Rust symbol, dropping the hash; other names are returned unchanged.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

/// Where a memory slot that a call or jump loads its target from points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Code in this binary: the slot is constant memory holding its address.
    Code(u64),
    /// A symbol bound by the dynamic linker: not in this binary.
    External(String),
    /// Unknown: the slot is writable after start-up, or its value is not an address of code.
    Unknown,
}

/// What a relocated word holds once the loader has run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reloc {
    /// An address in this binary.
    Value(u64),
    /// A symbol of another object.
    External(String),
    /// Computed at start-up (`IRELATIVE`, TLS, ...).
    Unknown,
}

/// An allocated section.
#[derive(Debug, Clone)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// `SHF_WRITE`.
    pub writable: bool,
    /// `SHF_EXECINSTR`.
    pub code: bool,
}

/// The loaded binary.
#[derive(Debug)]
pub struct Image {
    /// Instruction set.
    pub arch: Arch,
    /// Executable sections: address -> bytes.
    code: BTreeMap<u64, Vec<u8>>,
    /// Every allocated section with contents in the file: address -> bytes.
    data: BTreeMap<u64, Vec<u8>>,
    /// Allocated sections by start address.
    sections: BTreeMap<u64, Section>,
    /// `PT_GNU_RELRO` ranges: read-only once relocated.
    relro: Vec<(u64, u64)>,
    /// Sections whose code is a PLT: calls into them leave the binary.
    plt: Vec<(u64, u64)>,
    /// Function symbols by entry address.
    functions: BTreeMap<u64, Function>,
    /// Every function symbol name (aliases included), mangled and demangled -> entries.
    by_name: HashMap<String, Vec<u64>>,
    /// Words the dynamic loader writes: address -> what they hold.
    relocs: HashMap<u64, Reloc>,
}

impl Image {
    /// Parses an ELF file.
    pub fn parse(bytes: &[u8]) -> Result<Image, String> {
        let file = object::File::parse(bytes).map_err(|e| format!("not a readable object: {e}"))?;
        let arch = match file.architecture() {
            Architecture::X86_64 => Arch::X86_64,
            Architecture::Arm => Arch::Thumb,
            Architecture::Riscv32 => Arch::Riscv32,
            other => {
                return Err(format!("unsupported architecture {other:?} (x86_64, ARM or RV32)"));
            }
        };
        let mut code = BTreeMap::new();
        let mut data = BTreeMap::new();
        let mut sections = BTreeMap::new();
        let mut plt = Vec::new();
        for section in file.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else { continue };
            if sh_flags & u64::from(elf::SHF_ALLOC) == 0 || section.size() == 0 {
                continue;
            }
            let name = section.name().unwrap_or("").to_string();
            let (start, end) = (section.address(), section.address() + section.size());
            let exec = sh_flags & u64::from(elf::SHF_EXECINSTR) != 0;
            let writable = sh_flags & u64::from(elf::SHF_WRITE) != 0;
            if let Ok(bytes) = section.data()
                && !bytes.is_empty()
            {
                if section.kind() == SectionKind::Text {
                    if name.starts_with(".plt") {
                        plt.push((start, end));
                    }
                    code.insert(start, bytes.to_vec());
                }
                data.insert(start, bytes.to_vec());
            }
            sections.insert(start, Section { name, start, end, writable, code: exec });
        }
        let relro = relro_ranges(&file);
        let mut functions = BTreeMap::new();
        let mut by_name: HashMap<String, Vec<u64>> = HashMap::new();
        for symbol in file.symbols() {
            if symbol.kind() != SymbolKind::Text || symbol.is_undefined() {
                continue;
            }
            let Ok(name) = symbol.name() else { continue };
            if name.is_empty() || name.starts_with('$') {
                continue; // ARM mapping symbols ($t, $d)
            }
            let addr = match arch {
                Arch::Thumb => symbol.address() & !1,
                Arch::X86_64 | Arch::Riscv32 => symbol.address(),
            };
            for key in [name.to_string(), demangle(name)] {
                let entries = by_name.entry(key).or_default();
                if !entries.contains(&addr) {
                    entries.push(addr);
                }
            }
            let f = Function { name: name.to_string(), addr, size: symbol.size() };
            // Prefer a symbol with a size when several share an address.
            let better = |old: &Function| old.size == 0 && f.size != 0;
            match functions.get(&addr) {
                Some(old) if !better(old) => {}
                _ => {
                    functions.insert(addr, f);
                }
            }
        }
        for entries in by_name.values_mut() {
            entries.sort_unstable();
        }
        let relocs = read_relocs(&file);
        Ok(Image { arch, code, data, sections, relro, plt, functions, by_name, relocs })
    }

    /// The code bytes from `addr` to the end of its executable section.
    pub fn code_at(&self, addr: u64) -> Option<&[u8]> {
        let (start, bytes) = self.code.range(..=addr).next_back()?;
        let offset = usize::try_from(addr - start).ok()?;
        bytes.get(offset..).filter(|rest| !rest.is_empty())
    }

    /// Whether `addr` is inside a PLT section.
    pub fn in_plt(&self, addr: u64) -> bool {
        self.plt.iter().any(|&(start, end)| (start..end).contains(&addr))
    }

    /// The function symbol starting at `addr`.
    pub fn function_at(&self, addr: u64) -> Option<&Function> {
        self.functions.get(&addr)
    }

    /// Every function a name designates: its symbol (mangled), or every symbol whose demangled
    /// name (without hash) it is. Several for an ambiguous demangled name (instances of one
    /// generic function or closure) or for local symbols sharing a name.
    pub fn functions_named(&self, name: &str) -> Vec<&Function> {
        let addrs = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
        addrs.iter().filter_map(|a| self.functions.get(a)).collect()
    }

    /// The one function named `name` (mangled, or demangled without hash). An error when no
    /// function has that name, or when several do: the message lists them with their
    /// addresses, so the caller can pass a mangled name.
    pub fn function_named(&self, name: &str) -> Result<&Function, String> {
        match self.functions_named(name).as_slice() {
            [] => Err(format!(
                "no function `{name}` in the binary (a linker drops an exported function nothing \
                 calls: `detalloc::audit_wrappers!` keeps its pair; for others, a `#[used]` static \
                 holding the function, or `-C link-arg=--undefined={name}`)"
            )),
            [one] => Ok(one),
            many => {
                let list: Vec<String> =
                    many.iter().map(|f| format!("`{}` at {:#x}", f.name, f.addr)).collect();
                Err(format!(
                    "`{name}` is ambiguous: it names {} functions: {}; pass one mangled name",
                    many.len(),
                    list.join(", ")
                ))
            }
        }
    }

    /// All function symbols, in address order.
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.functions.values()
    }

    /// The end of the function starting at `addr`: its symbol size, else the next symbol.
    pub fn function_end(&self, addr: u64) -> u64 {
        match self.functions.get(&addr) {
            Some(f) if f.size > 0 => addr + f.size,
            _ => self.functions.range(addr + 1..).next().map_or(u64::MAX, |(a, _)| *a),
        }
    }

    /// A name for the code at `addr`: its function's name, `name+0x..`, or the address.
    pub fn describe(&self, addr: u64) -> String {
        match self.functions.range(..=addr).next_back() {
            Some((start, f)) if *start == addr => f.display_name(),
            Some((start, f)) if f.size == 0 || addr < start + f.size => {
                format!("{}+{:#x}", f.display_name(), addr - start)
            }
            _ => format!("{addr:#x}"),
        }
    }

    /// The allocated section holding `addr`.
    pub fn section_at(&self, addr: u64) -> Option<&Section> {
        let (_, section) = self.sections.range(..=addr).next_back()?;
        (addr < section.end).then_some(section)
    }

    /// Whether the program cannot write `addr` once started: a section without `SHF_WRITE`, or
    /// the `PT_GNU_RELRO` segment (read-only after relocation).
    pub fn is_constant(&self, addr: u64) -> bool {
        self.relro.iter().any(|&(start, end)| (start..end).contains(&addr))
            || self.section_at(addr).is_some_and(|s| !s.writable)
    }

    /// Whether `addr` is in read-only data: a `.rodata*` or `.data.rel.ro*` section.
    pub fn is_read_only_data(&self, addr: u64) -> bool {
        self.section_at(addr).is_some_and(|s| {
            !s.code && (s.name.starts_with(".rodata") || s.name.starts_with(".data.rel.ro"))
        })
    }

    /// `len` bytes of the file at `addr`, in any allocated section.
    pub fn bytes_at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let (start, bytes) = self.data.range(..=addr).next_back()?;
        let offset = usize::try_from(addr - start).ok()?;
        bytes.get(offset..offset.checked_add(len)?)
    }

    /// The value of the `width`-byte word (at most 8) at `addr` when the program cannot change
    /// it after start-up (constant memory): its dynamic relocation, else the bytes in the file.
    pub fn constant_word(&self, addr: u64, width: usize) -> Option<u64> {
        if !self.is_constant(addr) || width > 8 {
            return None;
        }
        match self.relocs.get(&addr) {
            Some(Reloc::Value(v)) => return Some(*v),
            Some(_) => return None,
            None => {}
        }
        let bytes = self.bytes_at(addr, width)?;
        let mut word = [0u8; 8];
        word[..width].copy_from_slice(bytes);
        Some(u64::from_le_bytes(word))
    }

    /// Where a pointer-sized memory slot at `addr` points: code when the slot is constant
    /// memory holding a code address; the external symbol a dynamic relocation binds it to;
    /// otherwise unknown (in particular every writable slot).
    pub fn slot(&self, addr: u64) -> Slot {
        if let Some(Reloc::External(name)) = self.relocs.get(&addr) {
            return Slot::External(name.clone());
        }
        let width = match self.arch {
            Arch::X86_64 => 8,
            Arch::Thumb | Arch::Riscv32 => 4,
        };
        match self.constant_word(addr, width) {
            Some(target) => {
                let target = if self.arch == Arch::Thumb { target & !1 } else { target };
                if target != 0 && self.code_at(target).is_some() {
                    Slot::Code(target)
                } else {
                    Slot::Unknown
                }
            }
            None => Slot::Unknown,
        }
    }
}

/// The `PT_GNU_RELRO` segments: read-only once the loader has relocated them.
fn relro_ranges(file: &object::File<'_>) -> Vec<(u64, u64)> {
    fn ranges<P: ProgramHeader>(headers: &[P], endian: P::Endian) -> Vec<(u64, u64)> {
        headers
            .iter()
            .filter(|h| h.p_type(endian) == elf::PT_GNU_RELRO)
            .map(|h| {
                let start: u64 = h.p_vaddr(endian).into();
                (start, start + h.p_memsz(endian).into())
            })
            .collect()
    }
    match file {
        object::File::Elf64(elf) => ranges(elf.elf_program_headers(), elf.endian()),
        object::File::Elf32(elf) => ranges(elf.elf_program_headers(), elf.endian()),
        _ => Vec::new(),
    }
}

/// What each dynamically relocated word holds after start-up.
fn read_relocs(file: &object::File<'_>) -> HashMap<u64, Reloc> {
    let mut relocs = HashMap::new();
    let Some(relocations) = file.dynamic_relocations() else { return relocs };
    for (offset, reloc) in relocations {
        let value = match (reloc.flags(), reloc.target()) {
            (RelocationFlags::Elf { r_type: elf::R_X86_64_RELATIVE }, _) => {
                Reloc::Value(reloc.addend() as u64)
            }
            (RelocationFlags::Elf { r_type: elf::R_X86_64_IRELATIVE }, _) => Reloc::Unknown,
            (_, RelocationTarget::Symbol(index)) => {
                match file.dynamic_symbol_table().and_then(|t| t.symbol_by_index(index).ok()) {
                    Some(sym) if sym.is_undefined() => {
                        Reloc::External(sym.name().unwrap_or("?").to_string())
                    }
                    Some(sym) if sym.kind() != SymbolKind::Tls => {
                        Reloc::Value(sym.address().wrapping_add(reloc.addend() as u64))
                    }
                    _ => Reloc::Unknown,
                }
            }
            _ => Reloc::Unknown,
        };
        relocs.insert(offset, value);
    }
    relocs
}
