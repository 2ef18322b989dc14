// A `sync: local` arena is not `Sync`: it cannot be a static.
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

static ARENA: Scratch = Scratch::new();

fn main() {}
