CREATE TABLE "entity_history" (
	"org_id" uuid NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"version" integer NOT NULL,
	"operation" text NOT NULL,
	"user_id" uuid,
	"device_id" text,
	"changed_fields" text[] NOT NULL,
	"data" jsonb NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"merged" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "entity_history_org_id_entity_type_entity_id_version_pk" PRIMARY KEY("org_id","entity_type","entity_id","version")
);
--> statement-breakpoint
ALTER TABLE "sync_conflicts" ADD COLUMN "base_data" jsonb;--> statement-breakpoint
ALTER TABLE "entity_history" ADD CONSTRAINT "entity_history_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "entity_history_created_idx" ON "entity_history" USING btree ("created_at");