/** The volunteer every client benchmark writes: one shape, so their figures compare. */
export const volunteerData = (i: number) => ({
  name: `Volunteer ${i}`,
  email: `volunteer${i}@example.org`,
  phone: "+351 912 345 678",
  skills: ["first aid", "driving"],
  status: "active",
  notes: "Available on weekends; prefers outdoor work and can drive the van to the collection points.",
});
