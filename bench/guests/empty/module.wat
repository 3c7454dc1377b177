;; The floor of instantiation: a module with nothing in it.
(module)
