//! Builds a C static library and its header from a detalloc heap declaration: what the
//! `detalloc-c` command does, as a library (see the README).
//!
//! [`Library`] describes the library (its heaps, their sync mode and keys, the drop-in ports
//! it routes to one of them); [`Library::crate_files`] writes the Rust crate that declares and
//! exports them; [`header`] writes `detalloc.h`; the binary builds the crate with cargo and
//! copies the archive and headers out.

use std::fmt::Write;

// A heap of this tool's own, exported, so that `__DETALLOC_C_FUNCTIONS` names the functions
// `export_c!` generates: the header is written from their types.
detalloc::detalloc! {
    /// The tool's own heap: never used, exported only to name the `det_*` functions.
    struct ToolHeap<pools: [16 x 1], sync: spin>;
}
static TOOL_HEAP: ToolHeap = ToolHeap::new();
detalloc::export_c!(TOOL_HEAP as detalloc_c_tool_heap);

/// `detalloc.h`: the C API's header, the same for every library.
pub fn header() -> String {
    let mut text = String::new();
    detalloc::c::write_header(&mut text, &__DETALLOC_C_FUNCTIONS)
        .expect("the function list matches the header's (tests/c_api.rs)");
    text
}

/// One heap of the library: its C handle name and its pools, as `detalloc!` writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapDecl {
    /// The handle's C name (`DET_HEAP(name);`), also the Rust static's name, upper-cased.
    pub name: String,
    /// The pool list, e.g. `[16 x 64, 64 x 32]`.
    pub pools: String,
}

/// What the library is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The heaps, each exported by name.
    pub heaps: Vec<HeapDecl>,
    /// The sync mode of every heap: `critical_section`, `spin` or `lock_free` (a `local` heap
    /// cannot be a static, so C cannot have one).
    pub sync: String,
    /// Further `detalloc!` keys for every heap, e.g. `validate: true, spill: true`.
    pub keys: String,
    /// The heap `malloc` and its family are routed to, if any.
    pub malloc: Option<String>,
    /// The heap FreeRTOS's `pvPortMalloc` and its family are routed to, if any.
    pub freertos: Option<String>,
    /// The target triple (`None`: the host).
    pub target: Option<String>,
    /// The archive's name: `lib<name>.a`.
    pub name: String,
    /// The release profile's opt-level.
    pub opt_level: String,
}

/// A name C and Rust both accept: ASCII letters, digits and `_`, not starting with a digit.
fn c_identifier(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Keywords of C, C++ and Rust: no heap handle may be one.
const KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "as",
    "asm",
    "async",
    "auto",
    "await",
    "bool",
    "box",
    "break",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "crate",
    "default",
    "delete",
    "do",
    "double",
    "dyn",
    "else",
    "enum",
    "explicit",
    "extern",
    "false",
    "final",
    "float",
    "fn",
    "for",
    "friend",
    "gen",
    "goto",
    "if",
    "impl",
    "in",
    "inline",
    "int",
    "let",
    "long",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "namespace",
    "new",
    "not",
    "nullptr",
    "operator",
    "or",
    "override",
    "priv",
    "private",
    "protected",
    "pub",
    "ref",
    "register",
    "restrict",
    "return",
    "self",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "super",
    "switch",
    "template",
    "this",
    "throw",
    "trait",
    "true",
    "try",
    "type",
    "typedef",
    "typeof",
    "union",
    "unsafe",
    "unsigned",
    "unsized",
    "use",
    "virtual",
    "void",
    "volatile",
    "where",
    "while",
    "yield",
];

/// C library and port symbols a handle would replace for the whole image (the handle is a
/// global symbol of its name): refused.
const LIBC_NAMES: &[&str] = &[
    "abort",
    "aligned_alloc",
    "calloc",
    "errno",
    "exit",
    "free",
    "main",
    "malloc",
    "malloc_usable_size",
    "memalign",
    "memcpy",
    "memmove",
    "memset",
    "posix_memalign",
    "printf",
    "pvPortCalloc",
    "pvPortMalloc",
    "realloc",
    "stderr",
    "stdin",
    "stdout",
    "strlen",
    "valloc",
    "vPortFree",
    "vPortGetHeapStats",
    "vPortInitialiseBlocks",
    "xPortGetFreeHeapSize",
    "xPortGetMinimumEverFreeHeapSize",
];

/// Why `name` cannot be a heap's handle, if it cannot.
fn handle_name_problem(name: &str) -> Option<String> {
    if !c_identifier(name) {
        return Some(format!("`{name}` is not a C identifier (letters, digits, `_`)"));
    }
    if KEYWORDS.contains(&name) {
        return Some(format!("`{name}` is a keyword of C, C++ or Rust"));
    }
    if LIBC_NAMES.contains(&name) || name.starts_with('_') {
        return Some(format!(
            "`{name}` would replace a C library symbol (or is reserved for one) in the whole image"
        ));
    }
    if __DETALLOC_C_FUNCTIONS.iter().any(|f| f.name == name) {
        return Some(format!("`{name}` is a function of the C API"));
    }
    None
}

impl Library {
    /// Whether the target has no operating system (a firmware target: `no_std`, `panic =
    /// "abort"` with a handler of the library's own).
    pub fn bare_metal(&self) -> bool {
        self.target.as_deref().is_some_and(|t| t.contains("-none"))
    }

    /// Checks the description: names, a heap for each port, a known sync mode.
    ///
    /// # Errors
    /// What is wrong, in a sentence.
    pub fn check(&self) -> Result<(), String> {
        if self.heaps.is_empty() {
            return Err("no heap: give --pools POOLS or --heap NAME=POOLS".into());
        }
        for heap in &self.heaps {
            if let Some(problem) = handle_name_problem(&heap.name) {
                return Err(format!("--heap {}: {problem}", heap.name));
            }
        }
        // Every name the generated crate defines once per namespace: values (handles and heap
        // statics) and types (heap types).
        for (i, heap) in self.heaps.iter().enumerate() {
            if self.heaps[..i].iter().any(|h| h.name == heap.name) {
                return Err(format!("two heaps are named `{}`", heap.name));
            }
        }
        let mut defined: Vec<(bool, String, &str)> = Vec::new(); // (is a type, name, heap)
        for heap in &self.heaps {
            let names = [
                (false, heap.name.clone()),
                (false, static_name(&heap.name)),
                (true, type_name(&heap.name)),
            ];
            for (is_type, generated) in names {
                let clash = defined.iter().find(|(t, n, _)| *t == is_type && *n == generated);
                if let Some((_, _, other)) = clash {
                    return Err(if *other == heap.name.as_str() {
                        format!(
                            "--heap {}: its handle and its Rust static would both be \
                             `{generated}`: use a lower-case name",
                            heap.name
                        )
                    } else {
                        format!(
                            "--heap {} and --heap {other} would both define `{generated}`: \
                             rename one",
                            heap.name
                        )
                    });
                }
                defined.push((is_type, generated, heap.name.as_str()));
            }
        }
        for (port, name) in [("--malloc", &self.malloc), ("--freertos", &self.freertos)] {
            if let Some(name) = name
                && !self.heaps.iter().any(|h| &h.name == name)
            {
                return Err(format!("{port} {name}: no heap of that name"));
            }
        }
        if !["critical_section", "spin", "lock_free"].contains(&self.sync.as_str()) {
            return Err(format!(
                "--sync {}: one of critical_section, spin, lock_free (a `local` heap is not \
                 `Sync`, so it cannot be the static C reaches)",
                self.sync
            ));
        }
        if !c_identifier(&self.name) {
            return Err(format!("--name {}: not a C identifier", self.name));
        }
        Ok(())
    }

    /// The critical-section implementation the library links, for a `critical_section` heap
    /// on a bare-metal target: the crate and its feature, by architecture.
    fn critical_section_impl(&self) -> Result<Option<&'static str>, String> {
        if self.sync != "critical_section" || !self.bare_metal() {
            return Ok(None);
        }
        let target = self.target.as_deref().unwrap_or_default();
        if target.starts_with("thumb") {
            Ok(Some(
                "cortex-m = { version = \"0.7.7\", features = [\"critical-section-single-core\"] }",
            ))
        } else if target.starts_with("riscv") {
            Ok(Some(
                "riscv = { version = \"0.16\", features = [\"critical-section-single-hart\"] }",
            ))
        } else {
            Err(format!(
                "no single-core critical-section implementation is known for {target}: use \
                 --sync spin or lock_free, or build the crate yourself with your implementation"
            ))
        }
    }

    /// The generated crate's files: `Cargo.toml` and `src/lib.rs`, for detalloc at
    /// `detalloc` (a dependency line's value: a path or a version).
    ///
    /// # Errors
    /// A description [`check`](Self::check) refuses, or a target with no known
    /// critical-section implementation.
    pub fn crate_files(&self, detalloc: &str) -> Result<(String, String), String> {
        self.check()?;
        let cs = self.critical_section_impl()?;
        let mut features = Vec::new();
        if self.sync == "critical_section" {
            features.push("\"critical-section\"");
        }
        if !self.bare_metal() {
            // A hosted library: `sync: spin` waiters yield to the OS after 128 spins (without
            // it, threads that outnumber the cores can spin for a whole time slice each).
            features.push("\"std\"");
        }
        let mut toml = String::new();
        let _ = write!(
            toml,
            "# Generated by detalloc-c: the Rust side of lib{name}.a. Not to be edited.\n\
             [package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[lib]\npath = \"lib.rs\"\ncrate-type = [\"staticlib\"]\n\n\
             [dependencies]\ndetalloc = {{ {detalloc}, default-features = false, features = [{features}] }}\n",
            name = self.name,
            features = features.join(", "),
        );
        if self.sync == "critical_section" && !self.bare_metal() {
            toml.push_str("critical-section = { version = \"1.2\", features = [\"std\"] }\n");
        }
        if let Some(cs) = cs {
            toml.push_str(cs);
            toml.push('\n');
        }
        let _ = write!(
            toml,
            "\n[profile.release]\nopt-level = \"{}\"\npanic = \"abort\"\nlto = true\ncodegen-units = 1\n\
             debug = true\n\n[profile.dev]\npanic = \"abort\"\n",
            self.opt_level.trim_matches('"')
        );

        let mut lib = String::new();
        lib.push_str("//! Generated by detalloc-c: the heaps of this library, exported to C.\n");
        if self.bare_metal() {
            lib.push_str("#![no_std]\n");
        }
        lib.push('\n');
        if cs.is_some() {
            let krate =
                if cs.is_some_and(|c| c.starts_with("cortex-m")) { "cortex_m" } else { "riscv" };
            let _ = writeln!(lib, "use {krate} as _; // the critical-section implementation\n");
        } else if self.sync == "critical_section" {
            lib.push_str("use critical_section as _; // std's implementation\n\n");
        }
        let keys = if self.keys.trim().is_empty() {
            String::new()
        } else {
            format!(", {}", self.keys.trim().trim_end_matches(','))
        };
        for heap in &self.heaps {
            let ty = type_name(&heap.name);
            let _ = writeln!(
                lib,
                "detalloc::detalloc! {{\n    /// `{name}` (C: `DET_HEAP({name});`).\n    \
                 pub struct {ty}<pools: {pools}, sync: {sync}{keys}>;\n}}\n\
                 /// The heap behind the handle `{name}`.\n\
                 pub static {upper}: {ty} = {ty}::new();\n",
                name = heap.name,
                pools = heap.pools,
                sync = self.sync,
                upper = static_name(&heap.name),
            );
        }
        let exports: Vec<String> =
            self.heaps.iter().map(|h| format!("{} as {}", h.name.to_uppercase(), h.name)).collect();
        let _ = writeln!(lib, "detalloc::export_c!({});", exports.join(", "));
        if let Some(name) = &self.malloc {
            let _ = writeln!(lib, "detalloc::export_malloc!({});", static_name(name));
        }
        if let Some(name) = &self.freertos {
            let _ = writeln!(lib, "detalloc::export_freertos!({});", static_name(name));
        }
        if self.bare_metal() {
            lib.push_str(
                "\n/// Rust's panic handler, which a `no_std` static library must define: detalloc\n\
                 /// never panics on a caller's mistake, so this is unreachable in practice. It\n\
                 /// waits forever (a watchdog resets the part). One per image: see the README.\n\
                 #[panic_handler]\nfn panic(_: &core::panic::PanicInfo) -> ! {\n    loop {\n        \
                 core::hint::spin_loop();\n    }\n}\n",
            );
        }
        Ok((toml, lib))
    }

    /// `<name>_heaps.h`: `detalloc.h` and the handles of this library's heaps.
    pub fn heaps_header(&self) -> String {
        let guard = format!("{}_HEAPS_H", self.name.to_uppercase());
        let mut text = format!(
            "/* {name}_heaps.h: the heaps lib{name}.a exports (generated by detalloc-c). */\n\
             #ifndef {guard}\n#define {guard}\n\n#include \"detalloc.h\"\n\n",
            name = self.name
        );
        for heap in &self.heaps {
            let _ = writeln!(
                text,
                "/* pools: {}, sync: {}{} */\nDET_HEAP({});\n",
                heap.pools,
                self.sync,
                if self.keys.trim().is_empty() {
                    String::new()
                } else {
                    format!(", {}", self.keys.trim())
                },
                heap.name
            );
        }
        let _ = writeln!(text, "#endif /* {guard} */");
        text
    }
}

/// The Rust static of the heap `name`: `audio_heap` -> `AUDIO_HEAP`.
fn static_name(name: &str) -> String {
    name.to_uppercase()
}

/// The Rust type name of the heap `name` (what its report starts with): `audio_heap` ->
/// `AudioHeap`.
fn type_name(name: &str) -> String {
    let mut ty: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map_or(String::new(), |c| c.to_ascii_uppercase().to_string() + chars.as_str())
        })
        .collect();
    if ty.is_empty() {
        ty.push_str("CHeap");
    }
    ty
}
