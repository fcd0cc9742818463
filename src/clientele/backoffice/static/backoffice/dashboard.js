// Draws the dashboard's charts from the tables the page carries (Chart.js, served from static/).
document.addEventListener("DOMContentLoaded", () => {
  const tables = JSON.parse(document.getElementById("dashboard-data").textContent);
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const rows = tables[canvas.dataset.chart] || [];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map((row) => row[canvas.dataset.label]),
        datasets: [{ label: canvas.dataset.title, data: rows.map((row) => Number(row[canvas.dataset.value])),
                     backgroundColor: "#417690" }],
      },
      options: { animation: false, plugins: { legend: { display: false } } },
    });
  });
});
