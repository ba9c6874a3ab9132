import { z } from "zod";

/**
 * Ours: one event of `GET /sync/events` (Server-Sent Events, event name `poke`): which entity
 * types changed. It carries no data; the client pulls.
 */
export const SyncPoke = z.object({
  entity_types: z.array(z.string()),
});
export type SyncPoke = z.infer<typeof SyncPoke>;
