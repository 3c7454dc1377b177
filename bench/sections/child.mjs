// Runs one section in a fresh process (its own JIT state and heap) and prints
// its result as the last line of stdout: `@@result <json>`.
const [name, mode] = process.argv.slice(2);
const quick = mode === "--quick";
const section = await import(`./${name}.mjs`);
const options = quick ? { quick, samples: 7, targetMs: 8 } : { quick, samples: 21, targetMs: 25 };
const result = await section.run(options);
process.stdout.write(`\n@@result ${JSON.stringify(result)}\n`);
process.exit(0);
