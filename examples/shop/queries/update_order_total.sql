UPDATE orders SET total_cents = (
    SELECT COALESCE(SUM(quantity * unit_price_cents), 0)
    FROM order_items
    WHERE order_items.order_id = orders.id
)
WHERE id = ?
