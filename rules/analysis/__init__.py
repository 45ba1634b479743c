"""What several rules ask about the code: syntax, data flow, and time and storage knowledge."""
