/** Types of generate.mjs, for TypeScript callers (its tests). */
export function tsType(schema: unknown, indent?: string): string;
export function generate(modulesDir: string): string;
