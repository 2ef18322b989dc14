//! The binary under audit: executable sections, function symbols, and the GOT slots a call
//! through memory may load its target from.

use std::collections::{BTreeMap, HashMap};

use object::{
    Architecture, Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, RelocationFlags,
    RelocationTarget, SectionKind, SymbolKind, elf,
};

/// Instruction set of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// 32-bit ARM; functions are audited as Thumb-2 (ARMv7-M).
    Thumb,
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
    /// Code in this binary (a relative relocation or a link-time constant).
    Code(u64),
    /// A symbol bound by the dynamic linker: not in this binary.
    External(String),
    /// Unknown (written at run time).
    Unknown,
}

/// The loaded binary.
#[derive(Debug)]
pub struct Image {
    /// Instruction set.
    pub arch: Arch,
    /// Executable sections: address -> bytes.
    code: BTreeMap<u64, Vec<u8>>,
    /// `.got*` sections: address -> bytes (a slot's link-time value).
    got: BTreeMap<u64, Vec<u8>>,
    /// Sections whose code is a PLT: calls into them leave the binary.
    plt: Vec<(u64, u64)>,
    /// Function symbols by entry address.
    functions: BTreeMap<u64, Function>,
    /// Function symbols by name.
    by_name: HashMap<String, u64>,
    /// GOT slots filled by the dynamic linker.
    slots: HashMap<u64, Slot>,
}

impl Image {
    /// Parses an ELF file.
    pub fn parse(bytes: &[u8]) -> Result<Image, String> {
        let file = object::File::parse(bytes).map_err(|e| format!("not a readable object: {e}"))?;
        let arch = match file.architecture() {
            Architecture::X86_64 => Arch::X86_64,
            Architecture::Arm => Arch::Thumb,
            other => return Err(format!("unsupported architecture {other:?} (x86_64 or ARM)")),
        };
        let mut code = BTreeMap::new();
        let mut got = BTreeMap::new();
        let mut plt = Vec::new();
        for section in file.sections() {
            if section.address() == 0 && section.kind() != SectionKind::Text {
                continue;
            }
            let Ok(bytes) = section.data() else { continue };
            if bytes.is_empty() {
                continue;
            }
            let name = section.name().unwrap_or("");
            if section.kind() == SectionKind::Text {
                if name.starts_with(".plt") {
                    plt.push((section.address(), section.address() + section.size()));
                }
                code.insert(section.address(), bytes.to_vec());
            }
            if name.starts_with(".got") {
                got.insert(section.address(), bytes.to_vec());
            }
        }
        let mut functions = BTreeMap::new();
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
                Arch::X86_64 => symbol.address(),
            };
            let f = Function { name: name.to_string(), addr, size: symbol.size() };
            // Prefer a global name and a symbol with a size when several share an address.
            let better = |old: &Function| old.size == 0 && f.size != 0;
            match functions.get(&addr) {
                Some(old) if !better(old) => {}
                _ => {
                    functions.insert(addr, f);
                }
            }
        }
        let by_name = functions.values().map(|f| (f.name.clone(), f.addr)).collect();
        let mut image = Image { arch, code, got, plt, functions, by_name, slots: HashMap::new() };
        image.slots = image.read_slots(&file);
        Ok(image)
    }

    /// GOT slots named by dynamic relocations.
    fn read_slots(&self, file: &object::File<'_>) -> HashMap<u64, Slot> {
        let mut slots = HashMap::new();
        let Some(relocations) = file.dynamic_relocations() else { return slots };
        for (offset, reloc) in relocations {
            let slot = match (reloc.flags(), reloc.target()) {
                (RelocationFlags::Elf { r_type: elf::R_X86_64_RELATIVE }, _) => {
                    Slot::Code(reloc.addend() as u64)
                }
                (_, RelocationTarget::Symbol(index)) => {
                    match file.dynamic_symbol_table().and_then(|t| t.symbol_by_index(index).ok()) {
                        Some(sym) if !sym.is_undefined() => Slot::Code(sym.address()),
                        Some(sym) => Slot::External(sym.name().unwrap_or("?").to_string()),
                        None => Slot::Unknown,
                    }
                }
                _ => Slot::Unknown,
            };
            slots.insert(offset, slot);
        }
        slots
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

    /// The function symbol named `name` (mangled, or demangled without hash).
    pub fn function_named(&self, name: &str) -> Option<&Function> {
        if let Some(addr) = self.by_name.get(name) {
            return self.functions.get(addr);
        }
        self.functions.values().find(|f| f.display_name() == name)
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

    /// Where a pointer-sized memory slot at `addr` points.
    pub fn slot(&self, addr: u64) -> Slot {
        if let Some(slot) = self.slots.get(&addr) {
            return slot.clone();
        }
        // A link-time constant (a non-PIE binary): read the pointer from the GOT in the file.
        let width = match self.arch {
            Arch::X86_64 => 8,
            Arch::Thumb => 4,
        };
        let Some((start, bytes)) = self.got.range(..=addr).next_back() else {
            return Slot::Unknown;
        };
        let Ok(offset) = usize::try_from(addr - start) else { return Slot::Unknown };
        match bytes.get(offset..offset + width) {
            Some(b) => {
                let mut word = [0u8; 8];
                word[..width].copy_from_slice(b);
                let target = u64::from_le_bytes(word);
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
