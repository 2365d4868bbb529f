"""SPICA-DB night-logs service: nights at CHARA, the SPICA scheduler's plans, CHARA night logs,
observations with their projected baselines, and quality flags."""
