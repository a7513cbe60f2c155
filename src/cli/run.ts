import { main } from "./main.ts";

// Output piped into a command that exits early (such as `head`) closes the pipe; that ends
// the output, not the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

// The CLI's process entry: runs the command and sets the exit code without cutting off output.
process.exitCode = await main(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
);
