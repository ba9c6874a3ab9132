import type { ViteUserConfig } from "vitest/config";

export function repensarVitest(overrides?: {
  unitSetupFiles?: string[];
  fileParallelism?: boolean;
  include?: string[];
}): ViteUserConfig;
