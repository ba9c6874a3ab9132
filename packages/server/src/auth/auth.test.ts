import { createMemoryStore } from "../kv/memory";
import { authSuite } from "./auth-suite";

authSuite("PGlite, in-process store", () => createMemoryStore());
