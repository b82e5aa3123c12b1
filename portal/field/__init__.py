"""The field engineer's mobile web app: today's route, job steps, work records, signatures."""
