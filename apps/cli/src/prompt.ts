import { createInterface } from "node:readline";

/**
 * Asks for a secret. On a terminal the typing is not echoed; otherwise (a pipe, a file) the first
 * line of standard input is read.
 */
export async function promptSecret(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return readLine();
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === "\r" || char === "\n" || char === "\u0004") {
            input.off("data", onData);
            process.stderr.write("\n");
            resolve(value);
            return;
          }
          if (char === "\u0003") {
            input.off("data", onData);
            process.stderr.write("\n");
            reject(new PromptCancelled("Cancelled"));
            return;
          }
          if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
          else value += char;
        }
      };
      input.on("data", onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
  }
}

/** Asks a question with visible typing; on a pipe, the next line is the answer. */
export async function promptLine(question: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(question);
  return readLine();
}

export class PromptCancelled extends Error {
  override name = "PromptCancelled";
}

/** The first line of standard input, whether or not it is a terminal (`--password-stdin`). */
export function readLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    lines.once("line", (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once("close", () => {
      if (!answered) reject(new PromptCancelled("No answer was given on standard input"));
    });
  });
}
