// Streams are named `<category>-<id>`; the first dash splits them, as EventStoreDB's category
// projection expects (ids such as uuids contain dashes of their own).
export const streamCategory = (streamName: string): string => streamName.slice(0, streamName.indexOf('-'));
export const streamId = (streamName: string): string => streamName.slice(streamName.indexOf('-') + 1);
