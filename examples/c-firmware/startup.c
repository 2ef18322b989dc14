/* The smallest Cortex-M start-up for the example: the vector table (initial stack, reset,
   SysTick), .data copied from flash, .bss zeroed, newlib's semihosting handles opened, then
   main; its return value is the exit status QEMU reports. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_start__, __data_end__, __data_load__, __bss_start__, __bss_end__,
    __stack_top__;
extern void initialise_monitor_handles(void);
extern int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    exit(3); /* an unexpected exception: fail loudly */
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top__),
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &__data_load__, *dst = &__data_start__;
    while (dst < &__data_end__) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    initialise_monitor_handles();
    exit(main());
}

/* No C++ constructors or destructors in this image: newlib's init and fini hooks are empty. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}
