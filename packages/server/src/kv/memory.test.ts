import { keyValueSuite } from "./kv-suite";
import { createMemoryStore } from "./memory";

keyValueSuite("memory", () => createMemoryStore());
