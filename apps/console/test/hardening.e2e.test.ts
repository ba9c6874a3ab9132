import { hardeningSuite } from "./hardening-suite";

hardeningSuite("the embedded default", () => ({}));
