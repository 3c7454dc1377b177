;; The floor of instantiating anything with a linear memory: one 64 KiB page
;; and nothing else. Every bus module has a memory, so V8's cost of reserving
;; and zeroing one is part of any instantiation; this row separates it out.
(module (memory (export "memory") 1))
