import { main } from "./main.ts";

// The CLI's process entry: runs the command and sets the exit code without cutting off output.
process.exitCode = await main(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
);
