"""Engineers' consults with technical experts (远程专家会诊), kept on the ticket."""
