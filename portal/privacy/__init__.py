"""Personal information protection (个人信息保护法, PIPL): who sees a customer's phone number,
the customer's own export and erasure of their data, and how long each kind of data is kept."""
