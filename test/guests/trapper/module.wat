;; A command that traps in _start: what a failed process looks like, with no call in sight.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
