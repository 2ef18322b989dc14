//! The stand-in arena after a compile error (`__private::fallback_arena!`): a type of the
//! declared name with `new()` and an `Arena` impl over an empty buffer, so the uses of the
//! name add no secondary errors. Never part of a successful build.

/// A zero-byte arena of the declared name.
#[doc(hidden)]
#[macro_export]
macro_rules! __fallback_arena {
    ($vis:vis $name:ident) => {
        $vis struct $name {
            __arena: $crate::__private::ArenaState<$crate::__private::Spin>,
            __buffer: $crate::__private::ArenaBuffer<0, $crate::__private::Align1>,
        }
        #[allow(unused, clippy::all)]
        const _: () = {
            impl $name {
                /// Stand-in.
                pub const fn new() -> Self {
                    Self {
                        __arena: $crate::__private::ArenaState::new(),
                        __buffer: $crate::__private::ArenaBuffer::new(),
                    }
                }
                /// Stand-in.
                pub const SECTION: ::core::option::Option<&'static str> = ::core::option::Option::None;
            }
            // SAFETY: the buffer has 0 bytes, so no allocation of a non-zero size succeeds.
            unsafe impl $crate::__private::Arena for $name {
                const CAPACITY: usize = 0;
                const ALIGN: usize = 1;
                const SUMMARY: &'static str = "";
                const __STATS: bool = false;
                const __POISON: bool = false;
                type __Lock = $crate::__private::Spin;
                type __Wcet = $crate::__private::NoWcet;
                fn __base(&self) -> ::core::ptr::NonNull<u8> {
                    self.__buffer.base()
                }
                fn __state(&self) -> &$crate::__private::ArenaState<$crate::__private::Spin> {
                    &self.__arena
                }
                fn __state_mut(
                    &mut self,
                ) -> &mut $crate::__private::ArenaState<$crate::__private::Spin> {
                    &mut self.__arena
                }
            }
        };
    };
}
