DROP FUNCTION IF EXISTS visible_events(text[], text);
