INSERT INTO customers (email, full_name) VALUES (?, ?) RETURNING id
