ALTER TABLE "projects" ADD CONSTRAINT "projects_name_max_length" CHECK (char_length("name") <= 200) NOT VALID;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_description_max_length" CHECK (char_length("description") <= 10000) NOT VALID;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_status_values" CHECK ("status" in ('planned', 'active', 'completed', 'cancelled')) NOT VALID;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_location_max_length" CHECK (char_length("location") <= 500) NOT VALID;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_title_max_length" CHECK (char_length("title") <= 300) NOT VALID;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_description_max_length" CHECK (char_length("description") <= 10000) NOT VALID;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_status_values" CHECK ("status" in ('todo', 'in_progress', 'done', 'cancelled')) NOT VALID;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_priority_values" CHECK ("priority" in ('low', 'medium', 'high', 'urgent')) NOT VALID;--> statement-breakpoint
ALTER TABLE "time_entries" ADD CONSTRAINT "time_entries_notes_max_length" CHECK (char_length("notes") <= 10000) NOT VALID;--> statement-breakpoint
ALTER TABLE "volunteers" ADD CONSTRAINT "volunteers_name_max_length" CHECK (char_length("name") <= 200) NOT VALID;--> statement-breakpoint
ALTER TABLE "volunteers" ADD CONSTRAINT "volunteers_email_max_length" CHECK (char_length("email") <= 320) NOT VALID;--> statement-breakpoint
ALTER TABLE "volunteers" ADD CONSTRAINT "volunteers_phone_max_length" CHECK (char_length("phone") <= 50) NOT VALID;--> statement-breakpoint
ALTER TABLE "volunteers" ADD CONSTRAINT "volunteers_status_values" CHECK ("status" in ('active', 'inactive', 'pending')) NOT VALID;--> statement-breakpoint
ALTER TABLE "volunteers" ADD CONSTRAINT "volunteers_notes_max_length" CHECK (char_length("notes") <= 10000) NOT VALID;